import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { once } from 'node:events'
import { gunzipSync } from 'node:zlib'
import type { OpenApiContract } from './openapi-contract.js'

// The HTTP side the InfluxDB emulators share: each answer goes through `reply`, which checks the
// exchange against the contract before sending it, so no response escapes the check. A violation
// fails the running test at once (it is thrown, outside the request), unless the test said it
// expects violations (`expectViolations`), as the tests of the check itself do.

/** An exchange broke the contract. */
export class ContractViolationError extends Error {
  override name = 'ContractViolationError'
}

export interface ContractServer {
  /** host:port */
  address: string
  /** http://… or, with TLS, https://… */
  url: string
  violations: string[]
  /** Runs `fn` with violations expected: they are collected and returned instead of failing the test. */
  expectViolations: <T>(fn: () => Promise<T>) => Promise<{ result: T; violations: string[] }>
  /** Requests seen, with the credential and the Host each carried (to check injection). */
  seen: { method: string; path: string; authorization: string | undefined; host: string | undefined }[]
  close(): Promise<void>
}

export interface Exchange {
  req: IncomingMessage
  url: URL
  /** The request body as text (gzip bodies inflated). */
  text: () => Promise<string>
  reply: (template: string, status: number, body?: unknown, requestBody?: unknown, headers?: Record<string, string>, type?: string) => void
  violation: (message: string) => void
  /** An endpoint the emulator does not serve: a violation, and a 404. */
  unserved: () => void
}

/** With `tls`, the server speaks HTTPS only, as InfluxDB Cloud and Timestream for InfluxDB do. */
export async function startContractServer(contract: OpenApiContract, handle: (x: Exchange) => Promise<void>, options: { tls?: { key: Buffer; cert: Buffer }; port?: number } = {}): Promise<ContractServer> {
  const { tls } = options
  const violations: string[] = []
  let expecting = 0
  const record = (found: readonly string[]): void => {
    if (found.length === 0) return
    violations.push(...found)
    if (expecting === 0) setImmediate(() => { throw new ContractViolationError(found.join('; ')) })
  }
  const seen: ContractServer['seen'] = []
  const listener: RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    seen.push({ method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, host: req.headers.host })
    let body: Promise<string> | undefined
    const x: Exchange = {
      req, url,
      text: () => (body ??= (async () => {
        const chunks: Buffer[] = []
        for await (const c of req) chunks.push(c as Buffer)
        const raw = Buffer.concat(chunks)
        return (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8')
      })()),
      reply: (template, status, responseBody, requestBody, headers = {}, type = 'application/json') => {
        const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined
        record(contract.check({ template, method: req.method ?? '', query: url.searchParams, headers: req.headers, hasBody, requestBody, status, responseBody, responseType: type }))
        if (responseBody === undefined) {
          res.writeHead(status, headers).end()
          return
        }
        const text = typeof responseBody === 'string' ? responseBody : JSON.stringify(responseBody)
        res.writeHead(status, { ...headers, 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(text) }).end(text)
      },
      violation: (m) => record([m]),
      unserved: () => {
        record([`${req.method ?? ''} ${url.pathname}: the emulator does not serve it`])
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'not found', message: 'no such endpoint' }))
      }
    }
    // The body is drained even when unread, so a keep-alive connection stays usable.
    handle(x).then(() => x.text(), (err: unknown) => {
      record([`emulator error: ${String(err)}`])
      res.destroy()
    }).catch(() => undefined)
  }
  const server: Server = tls === undefined ? createServer(listener) : createTlsServer(tls, listener)
  server.listen(options.port ?? 0, '127.0.0.1')
  await once(server, 'listening')
  const a = server.address()
  if (a === null || typeof a === 'string') throw new Error('no address')
  return {
    address: `127.0.0.1:${a.port}`, url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${a.port}`, violations, seen,
    async expectViolations(fn) {
      const before = violations.length
      expecting++
      try {
        const result = await fn()
        return { result, violations: violations.splice(before) }
      } finally {
        expecting--
      }
    },
    async close() {
      server.closeAllConnections()
      server.close()
      if (server.listening) await once(server, 'close')
    }
  }
}
