import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { Ajv, type ValidateFunction } from 'ajv'
import { parse } from 'yaml'

// An InfluxDB 2.x API emulator for the endpoints Portico and its clients use. No 2.x server can be
// installed here; instead every request this emulator receives and every response it sends is
// validated against InfluxData's official OpenAPI contract (test/fixtures/influxdb-openapi/oss.yml),
// and any mismatch is recorded in `violations`, which tests require to be empty.

interface Operation { requestBody?: { content?: Record<string, { schema?: unknown }> }; responses?: Record<string, { $ref?: string; content?: Record<string, { schema?: unknown }> }> }
type Spec = { paths: Record<string, Record<string, Operation>>; components: { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> } }

const spec = parse(readFileSync(new URL('../fixtures/influxdb-openapi/oss.yml', import.meta.url), 'utf8'), { maxAliasCount: -1 }) as Spec
const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true, discriminator: false })
ajv.addSchema({ $id: 'oss', components: spec.components }, 'oss')
const compiled = new Map<string, ValidateFunction>()

function validator(schema: unknown): ValidateFunction {
  const text = JSON.stringify(schema)
  let v = compiled.get(text)
  if (v === undefined) {
    // Refs inside the contract are document-relative: point them at the registered document.
    v = ajv.compile(JSON.parse(text.replace(/"#\/components\//g, '"oss#/components/')) as object)
    compiled.set(text, v)
  }
  return v
}

export interface Authorization {
  id: string
  token: string
  orgID: string
  description: string
  status: 'active' | 'inactive'
  permissions: { action: 'read' | 'write'; resource: { type: string; id?: string; name?: string; orgID?: string } }[]
  createdAt: string
  updatedAt: string
}

export interface V2Emulator {
  address: string
  orgId: string
  allAccessToken: string
  authorizations: Map<string, Authorization>
  /** Lines written, per bucket name. */
  points: Map<string, string[]>
  violations: string[]
  /** Requests seen, with the token each carried (to check injection). */
  seen: { method: string; path: string; authorization: string | undefined }[]
  close(): Promise<void>
}

export async function startV2Emulator(): Promise<V2Emulator> {
  const orgId = randomBytes(8).toString('hex')
  const allAccessToken = randomBytes(32).toString('base64url')
  const authorizations = new Map<string, Authorization>()
  const points = new Map<string, string[]>()
  const violations: string[] = []
  const seen: V2Emulator['seen'] = []

  const check = (template: string, method: string, requestBody: unknown, status: number, responseBody: unknown): void => {
    const op = spec.paths[template]?.[method.toLowerCase()]
    if (op === undefined) {
      violations.push(`${method} ${template}: not in the contract`)
      return
    }
    const reqSchema = op.requestBody?.content?.['application/json']?.schema
    if (reqSchema !== undefined && requestBody !== undefined) {
      const v = validator(reqSchema)
      if (!v(requestBody)) violations.push(`${method} ${template} request: ${ajv.errorsText(v.errors)}`)
    }
    let response = op.responses?.[String(status)] ?? op.responses?.default
    if (response === undefined) {
      violations.push(`${method} ${template}: status ${status} is not in the contract`)
      return
    }
    if (response.$ref !== undefined) response = spec.components.responses[response.$ref.split('/').pop() ?? '']
    const resSchema = response?.content?.['application/json']?.schema
    if (resSchema !== undefined && responseBody !== undefined) {
      const v = validator(resSchema)
      if (!v(responseBody)) violations.push(`${method} ${template} response ${status}: ${ajv.errorsText(v.errors)}`)
    } else if (resSchema === undefined && responseBody !== undefined) {
      violations.push(`${method} ${template} response ${status}: the contract has no JSON body here`)
    }
  }

  const token = (req: IncomingMessage): Authorization | 'all' | undefined => {
    const h = req.headers.authorization ?? ''
    const m = /^Token (.+)$/.exec(h)
    if (m === null) return undefined
    if (m[1] === allAccessToken) return 'all'
    return [...authorizations.values()].find((a) => a.token === m[1] && a.status === 'active')
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x')
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    const raw = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8')
    seen.push({ method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization })
    const reply = (template: string, status: number, body?: unknown, requestBody?: unknown): void => {
      check(template, req.method ?? '', requestBody, status, body)
      if (body === undefined) res.writeHead(status).end()
      else {
        const text = JSON.stringify(body)
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text)
      }
    }
    const unauthorized = (template: string): void => reply(template, 401, { code: 'unauthorized', message: 'unauthorized access' })
    const who = token(req)
    const p = url.pathname
    if (p === '/ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.setHeader('x-influxdb-version', 'v2.7.11')
      res.setHeader('x-influxdb-build', 'OSS')
      reply('/ping', 204)
      return
    }
    if (p === '/api/v2/authorizations') {
      if (who !== 'all') return unauthorized('/authorizations')
      if (req.method === 'POST') {
        const body = JSON.parse(raw) as Omit<Authorization, 'id' | 'token' | 'createdAt' | 'updatedAt' | 'status'>
        const now = new Date().toISOString()
        const a: Authorization = { id: randomBytes(8).toString('hex'), token: randomBytes(32).toString('base64url'), orgID: body.orgID, description: body.description,
          status: 'active', permissions: body.permissions, createdAt: now, updatedAt: now }
        authorizations.set(a.id, a)
        reply('/authorizations', 201, { ...a, links: { self: `/api/v2/authorizations/${a.id}`, user: '/api/v2/users/0000000000000001' } }, body)
        return
      }
      if (req.method === 'GET') {
        const org = url.searchParams.get('orgID')
        const list = [...authorizations.values()].filter((a) => org === null || a.orgID === org)
        reply('/authorizations', 200, { links: { self: '/api/v2/authorizations' }, authorizations: list.map((a) => ({ ...a, links: { self: `/api/v2/authorizations/${a.id}` } })) })
        return
      }
    }
    const del = /^\/api\/v2\/authorizations\/([^/]+)$/.exec(p)
    if (del !== null && req.method === 'DELETE') {
      if (who !== 'all') return unauthorized('/authorizations/{authID}')
      if (!authorizations.delete(del[1] ?? '')) return reply('/authorizations/{authID}', 404, { code: 'not found', message: 'authorization not found' })
      reply('/authorizations/{authID}', 204)
      return
    }
    if (p === '/api/v2/write' && req.method === 'POST') {
      const bucket = url.searchParams.get('bucket') ?? ''
      if (who === undefined) return unauthorized('/write')
      const allowed = who === 'all' || who.permissions.some((x) => x.action === 'write' && x.resource.type === 'buckets' && (x.resource.name === undefined || x.resource.name === bucket))
      if (!allowed) return unauthorized('/write')
      points.set(bucket, [...points.get(bucket) ?? [], ...raw.split('\n').filter((l) => l.trim() !== '')])
      reply('/write', 204)
      return
    }
    violations.push(`${req.method ?? ''} ${p}: the emulator does not serve it`)
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'not found', message: 'no such endpoint' }))
  }

  const server: Server = createServer((req, res) => { handle(req, res).catch((err: unknown) => { violations.push(`emulator error: ${String(err)}`); res.destroy() }) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const a = server.address()
  if (a === null || typeof a === 'string') throw new Error('no address')
  return {
    address: `127.0.0.1:${a.port}`, orgId, allAccessToken, authorizations, points, violations, seen,
    async close() {
      server.closeAllConnections()
      server.close()
      if (server.listening) await once(server, 'close')
    }
  }
}
