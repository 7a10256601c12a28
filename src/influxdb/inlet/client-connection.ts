import type { Socket } from 'node:net'
import { HttpMessageParser, HttpParseError, type MessageHandler, type MessageHead } from '../http/http-parser.js'
import { ownAnswer } from '../http/forwarding.js'
import type { RequestOwner } from './request-owner.js'
import { BODY_IDLE_TIMEOUT_MS, CLIENT_BUFFER_BYTES, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, MAX_HEADER_BYTES, REQUEST_BODY_TIME_LIMIT_MS, type InletContext } from './inlet-limits.js'
import { InletRequest } from './inlet-request.js'

/**
 * One client's connection to the influxdb inlet: its bytes parsed into requests, served one at a
 * time in the order they came (pipelined ones wait, so the database takes them in that order and
 * one client holds at most one upstream connection), each answered before the next is sent.
 */
export class ClientConnection implements MessageHandler, RequestOwner {
  private readonly parser = new HttpMessageParser('request', MAX_HEADER_BYTES, this)
  /** Requests read and not yet answered; the first is being served. */
  private readonly queue: InletRequest[] = []
  /** The request whose body the parser is reading. */
  private parsing: InletRequest | undefined
  /** When the head being read began (ms since the epoch), for the headers timeout. */
  private headSince: number | undefined
  /**
   * When the body being read began, and when the timeout check last saw it grow (ms since the
   * epoch): body pieces only count bytes, so the hot path reads no clock.
   */
  private bodySince: number | undefined
  private lastBodyAt = 0
  private bodyBytes = 0
  private bodyBytesSeen = 0
  private idleSince = Date.now()
  /** A new connection has as long as a request head to begin its first request; then it is kept alive as answers say. */
  private idleLimit = HEADERS_TIMEOUT_MS
  private clientEnded = false
  /** Body bytes read and held, not yet sent on. */
  buffered = 0
  /** The upstream connection of the request being served takes no more for now. */
  upstreamFull = false
  /** No further request is taken on this connection. */
  closing = false
  gone = false

  /** The client's address: its share of the upstream pool is counted by it. */
  readonly address: string

  constructor(readonly socket: Socket, readonly ctx: InletContext, readonly leaseKey: string, private readonly onClose: (c: ClientConnection) => void) {
    this.address = socket.remoteAddress ?? 'unknown'
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.read(chunk))
    socket.on('end', () => this.ended())
    socket.on('drain', () => this.queue[0]?.clientDrained())
    // 'close' follows, and cleans up.
    socket.on('error', () => undefined)
    socket.on('close', () => this.closed())
  }

  write(text: string): void {
    if (!this.gone) this.socket.write(text, 'latin1')
  }

  /** Ends the connection once what was written has gone. */
  closeAfterWrites(): void {
    this.closing = true
    if (!this.socket.writableEnded) this.socket.end(() => this.socket.destroy())
  }

  /** Stops reading the client while too much of its body waits or the upstream is full, and starts again after. */
  updateReading(): void {
    const hold = this.buffered > CLIENT_BUFFER_BYTES || this.upstreamFull
    if (hold === this.socket.isPaused() || this.gone) return
    if (hold) this.socket.pause()
    else this.socket.resume()
  }

  /** `r`, the first in the queue, is answered and whole: the next one's turn. */
  done(r: InletRequest): void {
    if (this.queue[0] !== r) return
    this.queue.shift()
    this.upstreamFull = false
    const next = this.queue[0]
    if (next !== undefined) this.serve(next)
    else if (this.closing || this.clientEnded) this.closeAfterWrites()
    else {
      this.idleSince = Date.now()
      this.idleLimit = KEEP_ALIVE_TIMEOUT_MS
    }
    this.updateReading()
  }

  /** Applies the headers and keep-alive timeouts; `now` in ms since the epoch. */
  check(now: number): void {
    if (this.headSince !== undefined && now - this.headSince > HEADERS_TIMEOUT_MS) {
      this.ctx.log.warn('a request head was not complete in time; its connection is closed')
      this.refuse(408, 'request timeout', `the request head was not complete within ${HEADERS_TIMEOUT_MS / 1000} s`)
    } else if (this.parsing !== undefined && this.bodySince !== undefined) {
      // A body the inlet stopped reading (the database is slow) is not the client's delay.
      if (this.socket.isPaused() || this.bodyBytes !== this.bodyBytesSeen) this.lastBodyAt = now
      this.bodyBytesSeen = this.bodyBytes
      if (now - this.lastBodyAt > BODY_IDLE_TIMEOUT_MS) {
        this.ctx.log.warn('a request body stalled; its connection is closed')
        this.refuse(408, 'request timeout', `no byte of the request body came for ${BODY_IDLE_TIMEOUT_MS / 1000} s`)
      } else if (now - this.bodySince > REQUEST_BODY_TIME_LIMIT_MS) {
        this.ctx.log.warn('a request body was not complete in time; its connection is closed')
        this.refuse(408, 'request timeout', `the request body was not complete within ${REQUEST_BODY_TIME_LIMIT_MS / 1000} s`)
      }
    } else if (this.queue.length === 0 && this.parsing === undefined && this.headSince === undefined && now - this.idleSince > this.idleLimit) {
      this.closeAfterWrites()
    }
  }

  // The client's requests, as the parser reads them.

  begin(): void {
    this.headSince = Date.now()
  }

  head(h: MessageHead): boolean {
    this.headSince = undefined
    // Refused, or past a request that closes the connection: what follows is read and dropped.
    if (this.closing) {
      this.parsing = undefined
      return false
    }
    this.ctx.counters.requests++
    this.bodySince = this.lastBodyAt = Date.now()
    const r = new InletRequest(this, h)
    this.parsing = r
    this.queue.push(r)
    if (this.queue.length === 1) this.serve(r)
    return false
  }

  body(chunk: Buffer): void {
    this.bodyBytes += chunk.length
    this.parsing?.bodyPiece(chunk)
  }

  complete(): void {
    const r = this.parsing
    this.parsing = undefined
    this.bodySince = undefined
    if (r === undefined) return
    if (!r.keepAlive) this.closing = true
    r.requestComplete()
  }

  private serve(r: InletRequest): void {
    r.start().catch((err: unknown) => r.failed(err))
  }

  private read(chunk: Buffer): void {
    // After a request that closes the connection, nothing more is taken.
    if (this.closing) return
    let rest = chunk
    try {
      for (;;) {
        const n = this.parser.execute(rest)
        if (n >= rest.length || this.closing) return
        // The parser stops after a request that asks to switch protocols, which the inlet does not
        // do: it was served as a plain request, and the next bytes begin the next one.
        this.parser.reset()
        rest = rest.subarray(n)
      }
    } catch (err) {
      if (!(err instanceof HttpParseError)) throw err
      // Bytes after a request that closes the connection (in the read that brought it) are ignored, as HTTP/1.1 says.
      if (err.code === 'HPE_CLOSED_CONNECTION') return
      this.ctx.counters.badRequests++
      this.ctx.log.warn({ err: err.code }, 'malformed HTTP request refused')
      const [status, message] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, `request headers larger than ${MAX_HEADER_BYTES} bytes`] : [400, 'malformed HTTP request']
      this.refuse(status, 'invalid', message)
    }
  }

  /**
   * Answers with `status` and closes the connection. What is still owed to earlier pipelined
   * requests is not waited for, as with Node's own server, and nothing more goes upstream: a
   * request whose head already went is cut off there, so the database never takes it whole.
   */
  private refuse(status: number, code: string, message: string): void {
    this.closing = true
    this.parsing = undefined
    const answering = this.queue[0]?.answerInProgress === true
    for (const r of this.queue.splice(0)) r.abandon()
    if (answering) {
      this.socket.destroy()
      return
    }
    this.write(ownAnswer(status, code, message, true))
    this.closeAfterWrites()
  }

  /** The client half-closed: its last request is still answered, unless it was cut short. */
  private ended(): void {
    this.clientEnded = true
    // Refused, or past a request that closes it: what came after was never read.
    if (this.closing) {
      if (this.queue.length === 0) this.closeAfterWrites()
      return
    }
    try {
      this.parser.finish()
    } catch {
      // It left in the middle of a request: nobody is there to read an answer, and it is no malformed request.
      this.ctx.log.debug('client left in the middle of a request')
      this.socket.destroy()
      return
    }
    if (this.queue.length === 0) this.closeAfterWrites()
  }

  private closed(): void {
    this.gone = true
    for (const r of this.queue.splice(0)) r.abandon()
    this.parsing = undefined
    this.parser.close()
    this.onClose(this)
  }
}
