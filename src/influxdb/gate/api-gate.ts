import type { Permission } from '../backends/backend.js'
import { checkInfluxQL, StatementRefusedError } from './influxql-gate.js'
import { InfluxQLSyntaxError } from './influxql-scanner.js'
import { LeaseScope } from './lease-scope.js'
import { paramValues, ParamsError, queryString } from './query-params.js'

/** A request body the inlet must read before it can judge the request (a query in a form or JSON body); larger ones get 413. */
export const MAX_GATED_BODY_BYTES = 1024 * 1024

/** The inlet answers the request itself with this and sends nothing to the database. */
export interface Refusal {
  kind: 'refuse'
  status: number
  code: string
  message: string
}

export type Verdict =
  | { kind: 'forward'; target: string }
  | { kind: 'body'; target: string; check: (body: Buffer) => Refusal | undefined }
  | Refusal

/** What the gate needs of a request. */
export interface GatedRequest {
  method: string
  url: string
  versionMajor: number
  headers: readonly string[]
}

/** What the gate needs of a lease. */
export interface GatedLease {
  backend: string
  permissions: readonly Permission[]
}

type Need = 'none' | 'read' | 'write'
type Check = 'none' | 'influxql' | { param: string }

interface Endpoint {
  methods: readonly string[]
  need: Need
  check: Check
}

const PING: Endpoint = { methods: ['GET', 'HEAD'], need: 'none', check: 'none' }
const V1_WRITE: Endpoint = { methods: ['POST'], need: 'write', check: { param: 'db' } }
const V1_QUERY: Endpoint = { methods: ['GET', 'POST'], need: 'read', check: 'influxql' }
const V2_WRITE: Endpoint = { methods: ['POST'], need: 'write', check: { param: 'bucket' } }

/**
 * The InfluxDB API an inlet forwards, by the backend its lease came from: writing and querying,
 * and the health checks clients make. Anything else (`/debug/*`, `/api/v2/authorizations`, the
 * UI) is no client's business through a lease: 403.
 */
const ENDPOINTS: Record<string, Record<string, Endpoint>> = {
  v1: { '/ping': PING, '/health': PING, '/write': V1_WRITE, '/query': V1_QUERY },
  v2: {
    '/ping': PING, '/health': PING, '/ready': PING, '/api/v2/write': V2_WRITE,
    // Flux cannot be judged statement by statement here: the token's own permissions decide.
    '/api/v2/query': { methods: ['POST'], need: 'read', check: 'none' },
    '/write': V1_WRITE, '/query': V1_QUERY
  },
  v3: {
    '/ping': PING, '/health': PING, '/api/v3/write_lp': V1_WRITE, '/api/v2/write': V2_WRITE, '/write': V1_WRITE,
    '/api/v3/query_sql': { methods: ['GET', 'POST'], need: 'read', check: { param: 'db' } },
    '/api/v3/query_influxql': { methods: ['GET', 'POST'], need: 'read', check: 'influxql' }, '/query': V1_QUERY
  }
}

const refuse = (status: number, code: string, message: string): Refusal => ({ kind: 'refuse', status, code, message })

/** `http://host/path?x` becomes `/path?x`; a target that is no path after that is undefined. */
export function originForm(url: string): string | undefined {
  const m = /^https?:\/\/[^/?#]*/i.exec(url)
  const rest = m === null ? url : url.slice(m[0].length) || '/'
  return rest.startsWith('/') ? rest : undefined
}

function headerValues(headers: readonly string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) if ((headers[i] ?? '').toLowerCase() === name) out.push(headers[i + 1] ?? '')
  return out
}

const mediaType = (v: string): string => (v.split(';')[0] ?? '').trim().toLowerCase()

/**
 * Judges one request against the lease it would carry: the path must be part of the lease
 * backend's API and need no more than the lease allows; databases and buckets named in it must be
 * the lease's; InfluxQL statements must be ones a read lease may run. A query in the body is
 * judged once the body is read (`body`).
 */
export function gateRequest(req: GatedRequest, lease: GatedLease): Verdict {
  if (req.versionMajor < 1) return refuse(400, 'invalid', 'HTTP/0.9 requests are not accepted')
  const target = originForm(req.url)
  if (target === undefined) return refuse(400, 'invalid', 'the request target must be a path')
  const q = target.indexOf('?')
  const path = q < 0 ? target : target.slice(0, q)
  const endpoint = ENDPOINTS[lease.backend]?.[path]
  if (endpoint === undefined) return refuse(403, 'forbidden', `${path.slice(0, 100)} is not part of the InfluxDB API this inlet forwards`)
  if (!endpoint.methods.includes(req.method)) return refuse(405, 'method not allowed', `${path} takes ${endpoint.methods.join(' or ')}`)
  const scope = new LeaseScope(lease.permissions)
  if (endpoint.need === 'read' && !scope.canRead) return refuse(403, 'forbidden', `this lease may not read (${path})`)
  if (endpoint.need === 'write' && !scope.canWrite) return refuse(403, 'forbidden', `this lease may not write (${path})`)
  try {
    const url = judgeParams(queryString(target), endpoint, scope)
    if (url !== undefined) return url
  } catch (err) {
    return refusal(err)
  }
  if (endpoint.check === 'none' || req.method !== 'POST') return { kind: 'forward', target }
  // Where the server takes parameters from the body too, the body is judged before it goes.
  const types = headerValues(req.headers, 'content-type').map(mediaType)
  if (types.includes('multipart/form-data')) return refuse(415, 'unsupported media type', 'multipart bodies are not accepted on query endpoints')
  const form = types.includes('application/x-www-form-urlencoded')
  const json = path.startsWith('/api/v3/') && (types.length === 0 || types.includes('application/json'))
  if (!form && !json) return { kind: 'forward', target }
  if (headerValues(req.headers, 'content-encoding').some((v) => v.trim().toLowerCase() !== 'identity' && v.trim() !== '')) {
    return refuse(415, 'unsupported media type', 'a query body must not be compressed')
  }
  return { kind: 'body', target, check: (body) => judgeBody(body, form, endpoint, scope) }
}

/** Checks the parameters of a query string or form body; a refusal, or undefined to go on. */
function judgeParams(text: string, endpoint: Endpoint, scope: LeaseScope): Refusal | undefined {
  if (endpoint.check === 'none') return undefined
  if (endpoint.check === 'influxql') {
    for (const db of paramValues(text, 'db')) if (!scope.mayRead(db)) return refuse(403, 'forbidden', `this lease may not read database '${db.slice(0, 64)}'`)
    for (const query of paramValues(text, 'q')) checkInfluxQL(query, scope)
    return undefined
  }
  const may = endpoint.need === 'write' ? (d: string) => scope.mayWrite(d) : (d: string) => scope.mayRead(d)
  for (const v of paramValues(text, endpoint.check.param)) {
    if (!may(v)) return refuse(403, 'forbidden', `this lease may not ${endpoint.need} ${endpoint.check.param} '${v.slice(0, 64)}'`)
  }
  return undefined
}

function judgeBody(body: Buffer, form: boolean, endpoint: Endpoint, scope: LeaseScope): Refusal | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body)
    if (form) return judgeParams(text, endpoint, scope)
    if (text.trim() === '') return undefined
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return refuse(400, 'invalid', 'a query body must be a JSON object')
    const o = parsed as Record<string, unknown>
    const db = o.db
    if (db !== undefined && typeof db !== 'string') return refuse(400, 'invalid', 'db must be a string')
    if (db !== undefined && !scope.mayRead(db)) return refuse(403, 'forbidden', `this lease may not read database '${db.slice(0, 64)}'`)
    if (endpoint.check === 'influxql') {
      if (o.q !== undefined && typeof o.q !== 'string') return refuse(400, 'invalid', 'q must be a string')
      if (typeof o.q === 'string') checkInfluxQL(o.q, scope)
    }
    return undefined
  } catch (err) {
    return refusal(err)
  }
}

function refusal(err: unknown): Refusal {
  if (err instanceof StatementRefusedError) return refuse(403, 'forbidden', err.message)
  if (err instanceof InfluxQLSyntaxError) return refuse(400, 'invalid', `the query is not valid InfluxQL: ${err.message}`)
  if (err instanceof ParamsError || err instanceof SyntaxError || err instanceof TypeError) return refuse(400, 'invalid', `the request's parameters could not be read: ${err.message}`)
  throw err
}
