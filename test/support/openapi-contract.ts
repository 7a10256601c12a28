import { readFileSync } from 'node:fs'
import { Ajv, type ValidateFunction } from 'ajv'
import { parse } from 'yaml'

// Checks one exchange (request and response) against an OpenAPI document, for the emulators that
// stand in for InfluxDB servers that cannot be installed here: the request's parameters, headers,
// content type, authentication scheme and body; the response's status (one the operation lists
// itself, not only `default`) and body (present where the contract gives one, and valid).

interface Media { schema?: unknown }
interface Parameter { $ref?: string; name?: string; in?: string; required?: boolean; schema?: unknown }
interface Operation {
  parameters?: Parameter[]
  security?: Record<string, unknown>[]
  requestBody?: { $ref?: string; required?: boolean; content?: Record<string, Media> }
  responses?: Record<string, { $ref?: string; content?: Record<string, Media> }>
}
interface Scheme { type?: string; scheme?: string; in?: string; name?: string }
type Spec = {
  paths: Record<string, Record<string, Operation> & { parameters?: Parameter[] }>
  security?: Record<string, unknown>[]
  components: {
    responses?: Record<string, { content?: Record<string, Media> }>
    parameters?: Record<string, Parameter>
    requestBodies?: Record<string, { required?: boolean; content?: Record<string, Media> }>
    securitySchemes?: Record<string, Scheme>
  }
}

export interface Exchange {
  template: string
  method: string
  /** The request's query parameters and headers (lower-case names), when the check should cover them. */
  query?: URLSearchParams
  headers?: Record<string, string | string[] | undefined>
  /** Whether the request carried a body (its bytes), and the body as parsed JSON when it is JSON. */
  hasBody?: boolean
  requestBody?: unknown
  status: number
  responseBody?: unknown
  /** The response's media type; JSON bodies are validated against their schema, others only declared. */
  responseType?: string
}

/** How an `Authorization` header of each scheme begins. */
const SCHEME_PREFIX: Record<string, RegExp> = { bearer: /^Bearer \S/, basic: /^Basic \S/, token: /^Token \S/ }

export class OpenApiContract {
  private readonly spec: Spec
  private readonly ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true, discriminator: false })
  private readonly compiled = new Map<string, ValidateFunction>()

  constructor(file: URL, private readonly id: string) {
    this.spec = parse(readFileSync(file, 'utf8'), { maxAliasCount: -1 }) as Spec
    this.ajv.addSchema({ $id: id, components: this.spec.components }, id)
  }

  /** What in the exchange breaks the contract; empty when nothing does. */
  check(x: Exchange): string[] {
    const where = `${x.method} ${x.template}`
    const path = this.spec.paths[x.template]
    const op = path?.[x.method.toLowerCase()]
    if (op === undefined) return [`${where}: not in the contract`]
    const out = [...this.checkRequest(where, op, path?.parameters ?? [], x)]
    let response = op.responses?.[String(x.status)]
    if (response === undefined) return [...out, `${where}: status ${x.status} is not one the operation lists${op.responses?.default !== undefined ? ' (only as default)' : ''}`]
    if (response.$ref !== undefined) response = this.spec.components.responses?.[response.$ref.split('/').pop() ?? '']
    const type = x.responseType ?? 'application/json'
    const media = response?.content?.[type]
    if (x.responseBody === undefined) {
      const kinds = Object.keys(response?.content ?? {})
      return kinds.length > 0 && x.method !== 'HEAD' ? [...out, `${where} response ${x.status}: the contract gives a body (${kinds.join(', ')}), and none was sent`] : out
    }
    if (media === undefined) return [...out, `${where} response ${x.status}: the contract has no ${type} body here`]
    if (type === 'application/json' && media.schema !== undefined) {
      const v = this.validator(media.schema)
      if (!v(x.responseBody)) out.push(`${where} response ${x.status}: ${this.ajv.errorsText(v.errors)}`)
    }
    return out
  }

  private checkRequest(where: string, op: Operation, pathParameters: Parameter[], x: Exchange): string[] {
    const out: string[] = []
    if (x.query !== undefined || x.headers !== undefined) {
      for (const raw of [...pathParameters, ...op.parameters ?? []]) {
        const p = raw.$ref !== undefined ? this.spec.components.parameters?.[raw.$ref.split('/').pop() ?? ''] : raw
        if (p?.name === undefined || (p.in !== 'query' && p.in !== 'header')) continue
        const value = p.in === 'query' ? x.query?.get(p.name) ?? undefined : headerValue(x.headers, p.name)
        if (value === undefined) {
          if (p.required === true) out.push(`${where} request: the ${p.in} parameter ${p.name} is required`)
          continue
        }
        // Headers are negotiated (Accept: */* is as good as any); Content-Type is checked against the body's media types below.
        const enumerated = p.in === 'query' ? this.resolved(p.schema)?.enum : undefined
        if (enumerated !== undefined && !enumerated.includes(value)) out.push(`${where} request: ${p.name}=${value.slice(0, 40)} is not one of ${enumerated.join(', ')}`)
      }
      const auth = headerValue(x.headers, 'authorization')
      if (auth !== undefined) {
        const allowed = this.schemesOf(op)
        if (allowed !== undefined && !allowed.some((re) => re.test(auth))) out.push(`${where} request: the Authorization scheme is not one the operation accepts`)
      }
    }
    const body = op.requestBody?.$ref !== undefined ? this.spec.components.requestBodies?.[op.requestBody.$ref.split('/').pop() ?? ''] : op.requestBody
    if (x.hasBody === true && body?.content !== undefined) {
      const type = (headerValue(x.headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
      const types = Object.keys(body.content)
      if (x.headers !== undefined && type !== '' && !types.some((t) => t === type || t === '*/*')) out.push(`${where} request: content type ${type} is not one of ${types.join(', ')}`)
    }
    if (x.hasBody === false && body?.required === true) out.push(`${where} request: a body is required`)
    const reqSchema = body?.content?.['application/json']?.schema
    if (reqSchema !== undefined && x.requestBody !== undefined) {
      const v = this.validator(reqSchema)
      if (!v(x.requestBody)) out.push(`${where} request: ${this.ajv.errorsText(v.errors)}`)
    }
    return out
  }

  /** The `Authorization` forms the operation accepts; undefined when it says nothing of them. */
  private schemesOf(op: Operation): RegExp[] | undefined {
    const requirements = op.security ?? this.spec.security
    if (requirements === undefined) return undefined
    const out: RegExp[] = []
    for (const r of requirements) {
      for (const name of Object.keys(r)) {
        const s = this.spec.components.securitySchemes?.[name]
        if (s?.type === 'http' && s.scheme !== undefined) out.push(SCHEME_PREFIX[s.scheme.toLowerCase()] ?? /^$/)
        else if (s?.type === 'apiKey' && s.in === 'header' && s.name?.toLowerCase() === 'authorization') out.push(SCHEME_PREFIX.token ?? /^$/)
      }
    }
    return out
  }

  /** A parameter's schema, through one $ref to the document's schemas. */
  private resolved(schema: unknown): { enum?: unknown[] } | undefined {
    const ref = (schema as { $ref?: string } | undefined)?.$ref
    const schemas = (this.spec.components as { schemas?: Record<string, unknown> }).schemas
    return (ref !== undefined ? schemas?.[ref.split('/').pop() ?? ''] : schema) as { enum?: unknown[] } | undefined
  }

  private validator(schema: unknown): ValidateFunction {
    const text = JSON.stringify(schema)
    let v = this.compiled.get(text)
    if (v === undefined) {
      // Refs inside the contract are document-relative: point them at the registered document.
      v = this.ajv.compile(JSON.parse(text.replace(/"#\/components\//g, `"${this.id}#/components/`)) as object)
      this.compiled.set(text, v)
    }
    return v
  }
}

function headerValue(headers: Exchange['headers'], name: string): string | undefined {
  const v = headers?.[name.toLowerCase()]
  return Array.isArray(v) ? v[0] : v
}
