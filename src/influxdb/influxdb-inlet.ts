import type { Duplex } from 'node:stream'
import { Agent, createServer, request, type ClientRequest, type IncomingMessage, type Server, type ServerResponse, type OutgoingHttpHeaders } from 'node:http'
import { once } from 'node:events'
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { parseHostPort } from '../transport/host-port.js'
import type { LeaseKeeper } from './lease-keeper.js'
import { answerHeaders, cleanHeaders, cleanPath } from './forwarding.js'

/** A body up to this size is kept while it streams, so the request can be retried once after a 401. */
export const MAX_RETRY_BODY_BYTES = 1024 * 1024
export const MAX_HEADER_BYTES = 64 * 1024
export const UPSTREAM_SOCKETS = 256
/**
 * What a client's connection and request hold before they push back: one socket read (Node reads
 * at most 64 KiB at a time). The body that arrives with a request's head waits, unread by anyone,
 * while the lease is looked up; with Node's default of 16 KiB a larger body stopped the client's
 * socket and started it again for every such request (two epoll system calls and a turn of the
 * stream machinery each time).
 */
export const CLIENT_BUFFER_BYTES = 64 * 1024

/**
 * Errors that mean the client went away, not that it spoke bad HTTP: a reset, or the connection
 * ending in the middle of a request (the parser then reports an end of file it did not expect).
 */
const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'HPE_INVALID_EOF_STATE'])

export interface InfluxdbInletOptions {
  log: Logger
  from: string
  /** Opens a connection through the portal to the InfluxDB outlet (in-process, no listener). */
  upstream: () => Duplex
  leases: LeaseKeeper
  strategy: 'shared' | 'per-client'
}

/**
 * The client-facing HTTP/1.1 endpoint (Node's own parser: keep-alive, pipelining, chunked bodies,
 * streaming): it removes every credential the client sent, injects the current lease, and sends
 * the request through the portal.
 */
export class InfluxdbInlet {
  private server: Server | undefined
  private readonly agent = new Agent({ keepAlive: true, maxSockets: UPSTREAM_SOCKETS })
  /** Each client connection's latest request, finished once its answer is. */
  private readonly latest = new WeakMap<Socket, Promise<void>>()
  requests = 0
  retried = 0
  badRequests = 0
  upstreamErrors = 0
  /** Requests answered 503 because no lease could be had. */
  withoutLease = 0

  constructor(private readonly o: InfluxdbInletOptions) {
    // The agent keeps upstream connections alive and reuses them; each is a portal stream.
    this.agent.createConnection = () => socketLike(this.o.upstream())
  }

  async start(): Promise<string> {
    const { host, port } = parseHostPort(this.o.from)
    const server = createServer({ keepAlive: true, maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 0, highWaterMark: CLIENT_BUFFER_BYTES }, (req, res) => { this.handle(req, res).catch((err: unknown) => this.failed(req, res, err)) })
    server.on('clientError', (err: Error & { code?: string }, socket: Socket) => this.clientError(err, socket))
    server.listen(port, host)
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => { throw e as Error })])
    this.server = server
    const a = server.address()
    const bound = a !== null && typeof a === 'object' ? `${a.address}:${a.port}` : this.o.from
    this.o.log.info({ from: bound, strategy: this.o.strategy }, 'influxdb inlet listening')
    return bound
  }

  async stop(): Promise<void> {
    this.agent.destroy()
    const s = this.server
    if (s?.listening === true) {
      s.close()
      s.closeAllConnections()
      await once(s, 'close')
    }
  }

  summary(): Record<string, unknown> {
    return { requests: this.requests, retriedAfter401: this.retried, badRequests: this.badRequests, upstreamErrors: this.upstreamErrors, withoutLease: this.withoutLease, strategy: this.o.strategy }
  }

  /**
   * Malformed HTTP: answer 400 (431 for headers over the limit), forward nothing, close this
   * connection; others are untouched. A connection the client reset or ended halfway through a
   * request is only closed: nobody is there to read an answer, and it is no malformed request.
   */
  private clientError(err: Error & { code?: string }, socket: Socket): void {
    if (CLIENT_GONE.has(err.code ?? '') || !socket.writable) {
      this.o.log.debug({ err: err.code ?? err.message }, 'client left in the middle of a request')
      socket.destroy()
      return
    }
    this.badRequests++
    this.o.log.warn({ err: err.code ?? err.message }, 'malformed HTTP request refused')
    const [status, message] = err.code === 'HPE_HEADER_OVERFLOW' ? ['431 Request Header Fields Too Large', `request headers larger than ${MAX_HEADER_BYTES} bytes`] : ['400 Bad Request', 'malformed HTTP request']
    const body = JSON.stringify({ code: 'invalid', message })
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    socket.destroy()
  }

  /** Whatever went wrong with one request answers that request (502) and is logged; the node serves on. */
  private failed(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.upstreamErrors++
    this.o.log.error({ err: (err as Error).message }, 'request through the portal could not be sent')
    this.fail(res, 502, `the request could not be sent through the portal: ${(err as Error).message}`)
    req.resume()
  }

  private fail(res: ServerResponse, status: number, message: string, headers: OutgoingHttpHeaders = {}): void {
    if (res.headersSent) {
      res.destroy()
      return
    }
    const body = JSON.stringify({ code: status === 502 ? 'bad gateway' : 'unavailable', message })
    res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++
    const key = this.o.strategy === 'per-client' ? req.socket.remoteAddress ?? 'unknown' : 'shared'
    const path = cleanPath(req.url ?? '/')
    const headers = cleanHeaders(req.headers)
    // Keep a copy of a small body as it streams, for one retry after a 401. The copy starts with the
    // pipe, not before: a listener attached earlier would let the body flow away while the lease is fetched.
    const kept: Buffer[] = []
    let keptBytes = 0
    let keep = true
    const keepCopy = (c: Buffer): void => {
      if (!keep) return
      keptBytes += c.length
      if (keptBytes > MAX_RETRY_BODY_BYTES) {
        keep = false
        kept.length = 0
      } else {
        kept.push(c)
      }
    }
    // A client gone before its request is complete takes the upstream request with it, and one
    // gone before its answer is complete takes the upstream answer: either would otherwise hold
    // one of the agent's upstream connections for good.
    let current: ClientRequest | undefined
    let abandoned = false
    const abandon = (): void => {
      abandoned = true
      current?.destroy()
      // Nothing will answer this client now: its connection must not stay half open.
      res.destroy()
    }
    req.once('close', () => { if (!req.complete) abandon() })
    res.once('close', () => { if (!res.writableFinished) abandon() })
    // Pipelined requests go upstream one at a time, each once the one before it is answered: the
    // database then takes them in the order the client sent them, as it would on one connection,
    // and one client cannot hold many upstream connections.
    const previous = this.latest.get(req.socket)
    this.latest.set(req.socket, new Promise((resolve) => res.once('close', resolve)))
    const send = async (retry: boolean): Promise<void> => {
      let grant
      try {
        grant = await this.o.leases.get(key)
      } catch (err) {
        this.withoutLease++
        // Clients that honour Retry-After (Telegraf's influxdb_v2 output does) come back when the next attempt is due.
        const after = this.o.leases.retryAfterMs(key)
        this.fail(res, 503, `no database lease could be obtained: ${(err as Error).message}`, after === undefined ? {} : { 'retry-after': String(Math.max(1, Math.ceil(after / 1000))) })
        req.resume()
        return
      }
      if (abandoned) return
      const upstream = request({
        host: 'influxdb', method: req.method, path, agent: this.agent,
        headers: { ...headers, ...(grant.host !== undefined ? { host: grant.host } : {}), authorization: grant.authorization }
      })
      current = upstream
      upstream.on('response', (ur) => {
        // Expired or revoked under us: the next request gets a new lease, and this one is sent
        // once more with it if we still hold its whole body.
        if (ur.statusCode === 401 && !retry) {
          this.o.leases.invalidate(key, grant.id)
          if (keep && req.complete) {
            ur.resume()
            this.retried++
            send(true).catch((err: unknown) => this.failed(req, res, err))
            return
          }
        }
        res.writeHead(ur.statusCode ?? 502, ur.statusMessage, answerHeaders(ur.headers))
        // An answer cut short upstream (the database or the portal gone mid-answer) errors `ur`,
        // and must be cut short for the client too, not leave it waiting for the rest. Not
        // stream.pipeline: it makes an AbortController per call and aborts it at the end, which
        // builds a DOMException with a stack trace for every request (6 % of the inlet's CPU).
        ur.on('error', (err) => {
          res.destroy()
          if (abandoned) return
          this.upstreamErrors++
          this.o.log.warn({ err: err.message }, 'the answer through the portal was cut short')
        })
        // A write the client's side refuses ends this answer, never the process.
        res.on('error', () => { ur.destroy() })
        ur.pipe(res)
      })
      upstream.on('error', (err) => {
        if (abandoned) return
        this.upstreamErrors++
        this.o.log.warn({ err: err.message }, 'request through the portal failed')
        this.fail(res, 502, `the database could not be reached through the portal: ${err.message}`)
      })
      if (retry) {
        upstream.end(Buffer.concat(kept))
      } else {
        req.on('data', keepCopy)
        req.pipe(upstream)
      }
    }
    if (previous !== undefined) await previous
    if (!abandoned) await send(false)
  }
}

/** Node's HTTP agent tunes the sockets it keeps; an in-memory stream has nothing to tune. */
function socketLike(stream: Duplex): Socket {
  const noop = (): Duplex => stream
  return Object.assign(stream, { setKeepAlive: noop, setNoDelay: noop, setTimeout: noop, ref: noop, unref: noop }) as unknown as Socket
}
