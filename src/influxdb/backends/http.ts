import { request as httpRequest } from 'node:http'
import { parseHostPort } from '../../transport/host-port.js'
import { request as httpsRequest } from 'node:https'
import { PorticoError, type ErrorKind } from '../../util/errors.js'

/** Largest answer from an InfluxDB admin API that we read. */
export const MAX_BACKEND_RESPONSE_BYTES = 4 * 1024 * 1024
export const BACKEND_TIMEOUT_MS = 10_000

export class BackendError extends PorticoError {
  override readonly code: string = 'backend'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'BackendError'
  constructor(message: string, readonly status?: number, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** No answer at all (refused, timed out, TLS failed) or a gateway's 5xx: worth asking again later. */
export class DatabaseUnavailableError extends BackendError {
  override readonly code: string = 'database-unavailable'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'DatabaseUnavailableError'
}

/** The database (v1) or bucket (v2) a lease would grant does not exist: creating it is the operator's step. */
export class DatabaseNotFoundError extends BackendError {
  override readonly code: string = 'database-not-found'
  override readonly kind: ErrorKind = 'not-found'
  override name = 'DatabaseNotFoundError'
}

export interface Endpoint {
  /** HOST:PORT */
  to: string
  tls: boolean
  ca?: Buffer
  /** The name the database's certificate is checked against, when it is not the host of `to`. */
  serverName?: string
}

/** The ports that a Host header leaves out. */
const DEFAULT_PORT = { http: 80, https: 443 } as const

/**
 * The Host header the database expects: the name its certificate is checked against, or the host
 * of `to`, with the port unless it is the scheme's default. A database behind a shared ingress
 * (InfluxDB Cloud, a reverse proxy with virtual hosts) routes each request by it, so requests that
 * reach it through an inlet must carry this one, not the inlet's.
 */
export function databaseHost(endpoint: Endpoint, to = parseHostPort(endpoint.to)): string {
  const { host, port } = to
  const name = endpoint.serverName ?? host
  const bracketed = name.includes(':') ? `[${name}]` : name
  return port === DEFAULT_PORT[endpoint.tls ? 'https' : 'http'] ? bracketed : `${bracketed}:${port}`
}

export interface HttpAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** One request to the database's own API; secrets go in headers and are never part of an error. */
export function call(endpoint: Endpoint, method: string, path: string, headers: Record<string, string>, body?: string, signal?: AbortSignal): Promise<HttpAnswer> {
  const to = parseHostPort(endpoint.to)
  const { host, port } = to
  const requester = endpoint.tls ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = requester({
      host, port, method, path, timeout: BACKEND_TIMEOUT_MS, ...(signal !== undefined ? { signal } : {}),
      ...(endpoint.tls && endpoint.ca !== undefined ? { ca: endpoint.ca } : {}),
      ...(endpoint.tls && endpoint.serverName !== undefined ? { servername: endpoint.serverName } : {}),
      headers: { host: databaseHost(endpoint, to), ...headers, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) }
    }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_BACKEND_RESPONSE_BYTES) req.destroy(new BackendError('answer from the database too large'))
        else chunks.push(c)
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new DatabaseUnavailableError(`the database at ${endpoint.to} did not answer within ${BACKEND_TIMEOUT_MS} ms`)))
    req.on('error', (err) => reject(err instanceof BackendError ? err : new DatabaseUnavailableError(`cannot reach the database at ${endpoint.to}: ${describeConnectError(err, endpoint)}`, undefined, { cause: err })))
    req.end(body)
  })
}

/** OpenSSL's words for the mistakes operators make, in theirs. */
function describeConnectError(err: NodeJS.ErrnoException, endpoint: Endpoint): string {
  if (endpoint.tls && (err.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|http request/i.test(err.message))) {
    return 'the server does not speak TLS (is tls: true set for a plain HTTP server?)'
  }
  if (err.code === 'ECONNREFUSED') return 'connection refused (nothing listens there)'
  return err.message
}

/** A short error text from a JSON answer's `field` (`message` for v2, `error` for v3); empty if none. */
export function errorField(body: string, field: 'message' | 'error'): string {
  try {
    const m = (JSON.parse(body) as Record<string, unknown>)[field]
    return typeof m === 'string' ? m.slice(0, 200) : ''
  } catch {
    return ''
  }
}
