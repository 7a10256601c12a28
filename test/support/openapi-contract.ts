import { readFileSync } from 'node:fs'
import { Ajv, type ValidateFunction } from 'ajv'
import { parse } from 'yaml'

// Checks one exchange (request and response) against an OpenAPI document, for the emulators that
// stand in for InfluxDB servers that cannot be installed here.

interface Media { schema?: unknown }
interface Operation { requestBody?: { content?: Record<string, Media> }; responses?: Record<string, { $ref?: string; content?: Record<string, Media> }> }
type Spec = { paths: Record<string, Record<string, Operation>>; components: { responses?: Record<string, { content?: Record<string, Media> }> } }

export interface Exchange {
  template: string
  method: string
  requestBody?: unknown
  status: number
  responseBody?: unknown
  /** The response's media type; JSON bodies are validated against their schema, others only declared. */
  responseType?: string
}

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
    const op = this.spec.paths[x.template]?.[x.method.toLowerCase()]
    if (op === undefined) return [`${where}: not in the contract`]
    const out: string[] = []
    const reqSchema = op.requestBody?.content?.['application/json']?.schema
    if (reqSchema !== undefined && x.requestBody !== undefined) {
      const v = this.validator(reqSchema)
      if (!v(x.requestBody)) out.push(`${where} request: ${this.ajv.errorsText(v.errors)}`)
    }
    let response = op.responses?.[String(x.status)] ?? op.responses?.default
    if (response === undefined) return [...out, `${where}: status ${x.status} is not in the contract`]
    if (response.$ref !== undefined) response = this.spec.components.responses?.[response.$ref.split('/').pop() ?? '']
    const type = x.responseType ?? 'application/json'
    const media = response?.content?.[type]
    if (x.responseBody === undefined) return out
    if (media === undefined) return [...out, `${where} response ${x.status}: the contract has no ${type} body here`]
    if (type === 'application/json' && media.schema !== undefined) {
      const v = this.validator(media.schema)
      if (!v(x.responseBody)) out.push(`${where} response ${x.status}: ${this.ajv.errorsText(v.errors)}`)
    }
    return out
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
