import type { MessageHead } from '../http/http-parser.js'
import type { LeaseGrant } from '../leases/lease-types.js'
import { clientAnswer, ownAnswer, upstreamHead, upstreamRequest, type AnswerFraming, type UpstreamRequest } from '../http/forwarding.js'
import { CLIENT_BUFFER_BYTES, KEEP_ALIVE_TIMEOUT_MS, UNAVAILABLE_RETRY_AFTER_S } from './inlet-limits.js'
import { PortalUnavailableError } from '../../portal/portal-errors.js'
import type { AnswerHandler, Upstream } from '../http/upstream-pool.js'
import { LAST_CHUNK, writeBodyPiece } from '../http/body-framing.js'
import type { RequestOwner } from './request-owner.js'
import { HeldBody } from './held-body.js'
import { gateRequest, MAX_GATED_BODY_BYTES, type Refusal } from '../gate/api-gate.js'
import { LeaseUnavailableError } from './lease-keeper.js'
import { HTTP_STATUS, kindOf } from '../../util/errors.js'
import { STATUS_CODES } from 'node:http'

/**
 * Where a request stands, as the handshake has its step:
 * - `leasing`: waiting for its lease (again, when an answer said the lease had expired, or a
 *   kept-alive connection closed under it);
 * - `gathering`: its body is read whole, to be judged before anything is sent;
 * - `ready`: cleared, with its lease, waiting for more of its body before it takes a connection;
 * - `queued`: waiting for an upstream connection to be free;
 * - `sending`: on an upstream connection, whose answer it handles;
 * - `answered`: its answer is complete (the rest of its body goes nowhere);
 * - `abandoned`: its client connection went, or refused it: nothing more is sent for it.
 */
export type RequestPhase = 'leasing' | 'gathering' | 'ready' | 'queued' | 'sending' | 'answered' | 'abandoned'

/**
 * One request of a client connection, from its head to its answer: it takes a lease, sends the
 * request upstream with the lease in place of the client's credentials, and passes the answer
 * back. While it holds an upstream connection it is that connection's answer handler.
 */
export class InletRequest implements AnswerHandler {
  private readonly forward: UpstreamRequest
  private phase: RequestPhase = 'leasing'
  /** The whole request has been read from the client. */
  private whole = false
  private readonly held = new HeldBody()
  private upstream: Upstream | undefined
  private cancelWait: (() => void) | undefined
  private grantId = ''
  private retried = false
  private resent = false
  /** The upstream connection in use had served an exchange before. */
  private onReused = false
  // The current answer from upstream.
  private informational = false
  private answerBegun = false
  private swallow = false
  private framing: AnswerFraming = 'none'
  private upstreamKeepAlive = false
  /** The answer's head went to the client: a failure now can only cut the answer short. */
  private answerStarted = false
  private clientFull = false
  /** The request passed the lease's gate (path, databases, statements): a second sending is not judged again. */
  private cleared = false
  /** The target as it goes upstream (origin-form). */
  private target: string
  /** The body must be read whole and judged before anything is sent (a query in a form or JSON body). */
  private bodyCheck: ((body: Buffer) => Refusal | undefined) | undefined
  private gatheredBytes = 0
  /** Bytes of held pieces counted in the connection's `buffered` (a gathered body is not: it must not stop its own reading). */
  private countedBytes = 0
  private grant: LeaseGrant | undefined

  constructor(private readonly conn: RequestOwner, private readonly req: MessageHead) {
    this.forward = upstreamRequest(req.headers)
    this.target = req.url
  }

  get client(): RequestOwner['socket'] {
    return this.conn.socket
  }

  /** The connection may carry another request after this one (the client's version and Connection header). */
  get keepAlive(): boolean {
    return this.req.keepAlive
  }

  /** Part of the answer went to the client, and not all of it. */
  get answerInProgress(): boolean {
    return this.answerStarted && this.phase !== 'answered'
  }

  /** Where the request stands (for tests and logs). */
  get state(): RequestPhase {
    return this.phase
  }

  /** The request's turn has come: the ones before it on its connection are answered. */
  async start(): Promise<void> {
    if (this.req.method === 'CONNECT') return this.own(405, 'method not allowed', 'CONNECT is not supported by this inlet', true)
    if (this.forward.otherExpectation) return this.own(417, 'expectation failed', 'only Expect: 100-continue is supported', true)
    // As Node's server does: the client is told to go on when its request is the one being served.
    if (this.forward.expectContinue && !this.whole) this.conn.write('HTTP/1.1 100 Continue\r\n\r\n')
    await this.send()
  }

  /** A piece of the body, as the client's bytes are parsed. */
  bodyPiece(chunk: Buffer): void {
    this.held.keep(chunk)
    if (this.phase === 'answered' || this.phase === 'abandoned') return
    if (this.upstream !== undefined) {
      this.writeUp(this.upstream, chunk)
      return
    }
    this.held.hold(chunk)
    if (this.phase === 'gathering') {
      this.gatheredBytes += chunk.length
      if (this.gatheredBytes > MAX_GATED_BODY_BYTES) this.own(413, 'too large', `a query body is limited to ${MAX_GATED_BODY_BYTES} bytes`, true)
      return
    }
    this.countedBytes += chunk.length
    this.conn.buffered += chunk.length
    if (this.phase === 'ready' && this.countedBytes >= CLIENT_BUFFER_BYTES) this.goNow()
    this.conn.updateReading()
  }

  /** The whole request has been read. */
  requestComplete(): void {
    this.whole = true
    if (this.phase === 'ready') {
      this.goNow()
      if (this.state === 'answered') this.conn.done(this)
      return
    }
    if (this.phase === 'gathering') {
      const grant = this.grant
      if (grant !== undefined && this.bodyPasses()) {
        this.cleared = true
        try {
          this.go(grant)
        } catch (err) {
          this.failed(err)
        }
      }
      return
    }
    if (this.forward.chunked && this.upstream !== undefined && this.phase === 'sending' && this.upstream.stream.writable) this.upstream.stream.write(LAST_CHUNK, 'latin1')
    if (this.phase === 'answered') this.conn.done(this)
  }

  /** The client connection is gone: whatever this request holds upstream goes too. */
  abandon(): void {
    this.phase = 'abandoned'
    this.cancelWait?.()
    this.cancelWait = undefined
    const u = this.upstream
    this.upstream = undefined
    if (u !== undefined) this.conn.ctx.pool.release(u, false)
    this.dropHeld()
  }

  /** The path to the database is down (the reason names the hop): the client is told to come back. */
  private unavailable(reason: string): void {
    this.conn.ctx.counters.upstreamErrors++
    this.own(503, 'unavailable', reason, false, `Retry-After: ${UNAVAILABLE_RETRY_AFTER_S}\r\n`)
  }

  /** The request could not be sent at all, for a reason of the inlet's own. */
  failed(err: unknown): void {
    if (this.phase === 'abandoned') return
    this.conn.ctx.counters.upstreamErrors++
    this.conn.ctx.log.error({ err: (err as Error).message }, 'request through the portal could not be sent')
    this.own(502, 'bad gateway', `the request could not be sent through the portal: ${(err as Error).message}`, false)
  }

  private async send(): Promise<void> {
    const { leases, counters } = this.conn.ctx
    this.phase = 'leasing'
    let grant
    try {
      grant = await leases.get(this.conn.leaseKey)
    } catch (err) {
      if (this.phase !== 'leasing') return
      counters.withoutLease++
      const message = `no database lease could be obtained: ${(err as Error).message}`
      // A refusal is not worth retrying (a client told to retry would, for ever); a shortage is.
      const kind = kindOf(err instanceof LeaseUnavailableError ? err.cause : err)
      if (kind === 'refused' || kind === 'not-found') return this.own(HTTP_STATUS[kind], STATUS_CODES[HTTP_STATUS[kind]]?.toLowerCase() ?? kind, message, false)
      // Clients that honour Retry-After (Telegraf's influxdb_v2 output does) come back when the next attempt is due.
      const after = leases.retryAfterMs(this.conn.leaseKey)
      this.own(503, 'unavailable', message, false, after === undefined ? '' : `Retry-After: ${Math.max(1, Math.ceil(after / 1000))}\r\n`)
      return
    }
    if (this.phase !== 'leasing') return
    const down = this.conn.ctx.outletDown?.()
    if (down !== undefined) {
      if (kindOf(down) === 'refused') this.own(HTTP_STATUS.refused, 'forbidden', down.message, false)
      else this.unavailable(down.message)
      return
    }
    this.grant = grant
    if (!this.cleared) {
      const verdict = gateRequest(this.req, grant)
      if (verdict.kind === 'refuse') {
        this.refused(verdict)
        return
      }
      this.target = verdict.target
      if (verdict.kind === 'body') {
        this.bodyCheck = verdict.check
        if (!this.whole) {
          // The body is read whole first; what was held of it so far no longer stops the client.
          this.phase = 'gathering'
          this.gatheredBytes = this.countedBytes
          this.conn.buffered -= this.countedBytes
          this.countedBytes = 0
          this.conn.updateReading()
          return
        }
        if (!this.bodyPasses()) return
      }
      this.cleared = true
    }
    // An upstream connection is taken once the body is whole or a client buffer's worth of it
    // came: a client that trickles its body holds a little memory here, never a connection
    // that every other client needs.
    if (!this.whole && this.countedBytes < CLIENT_BUFFER_BYTES) {
      this.phase = 'ready'
      return
    }
    this.go(grant)
  }

  private goNow(): void {
    const g = this.grant
    if (this.phase !== 'ready' || g === undefined) return
    try {
      this.go(g)
    } catch (err) {
      this.failed(err)
    }
  }

  /** Judges the whole body held; refuses the request if it does not pass. */
  private bodyPasses(): boolean {
    const r = this.bodyCheck?.(Buffer.concat(this.held.waiting))
    if (r === undefined) return true
    this.refused(r)
    return false
  }

  private refused(r: Refusal): void {
    this.conn.ctx.counters.refused++
    this.conn.ctx.log.warn({ status: r.status, reason: r.message }, 'request refused by the inlet')
    this.own(r.status, r.code, r.message, r.status === 400 || r.status === 413)
  }

  /** Sends the request upstream with `grant`, on a pooled connection or the next one free. */
  private go(grant: LeaseGrant): void {
    const { pool } = this.conn.ctx
    const head = upstreamHead(this.req.method, this.target, this.forward, grant.host ?? this.forward.host ?? 'influxdb', grant.authorization)
    this.grantId = grant.id
    const again = this.retried || this.resent ? this.held.whole ?? [] : undefined
    const u = pool.take(this.conn.address)
    if (u !== undefined) {
      this.use(u, head, again)
      return
    }
    this.phase = 'queued'
    this.cancelWait = pool.wait(this.conn.address, (ready) => {
      this.cancelWait = undefined
      this.use(ready, head, again)
    })
  }

  /** Sends the head and what there is of the body on `u`; `again` is the whole body of a request sent once more. */
  private use(u: Upstream, head: string, again: readonly Buffer[] | undefined): void {
    this.phase = 'sending'
    this.upstream = u
    this.onReused = u.reused
    u.attach(this)
    this.informational = this.answerBegun = this.swallow = false
    const s = u.stream
    s.cork()
    s.write(head, 'latin1')
    const held = this.dropHeld()
    for (const c of again ?? held) this.writeUp(u, c)
    if (this.whole && this.forward.chunked) s.write(LAST_CHUNK, 'latin1')
    s.uncork()
  }

  private writeUp(u: Upstream, chunk: Buffer): void {
    const s = u.stream
    const more = writeBodyPiece(s, chunk, this.forward.chunked)
    // A full upstream stops the client only past the client's own allowance: a batch that came in
    // one read goes on without stopping and restarting the client's socket.
    if (!more && !this.conn.upstreamFull && s.writableLength > CLIENT_BUFFER_BYTES) {
      this.conn.upstreamFull = true
      this.conn.updateReading()
    }
  }

  /** Lets go of the pieces held for an upstream connection, and returns them. */
  private dropHeld(): Buffer[] {
    const { pieces } = this.held.release()
    this.conn.buffered -= this.countedBytes
    this.countedBytes = 0
    this.conn.updateReading()
    return pieces
  }

  // The answer, as the upstream connection's parser reads it.

  begin(): void {}

  head(h: MessageHead): boolean {
    // Interim answers end here: the inlet answered any Expect itself.
    if (h.status < 200) {
      this.informational = true
      return false
    }
    this.answerBegun = true
    if (h.status === 401 && !this.retried) {
      // Expired or revoked under us: the next request gets a new lease, and this one is sent
      // once more with it if its whole body was kept.
      const replaced = this.conn.ctx.leases.invalidate(this.conn.leaseKey, this.grantId)
      if (replaced && this.whole && this.held.whole !== undefined) {
        this.swallow = true
        this.upstreamKeepAlive = h.keepAlive
        return false
      }
    }
    const bodyless = this.req.method === 'HEAD' || h.status === 204 || h.status === 304
    const http11 = this.req.versionMajor > 1 || (this.req.versionMajor === 1 && this.req.versionMinor >= 1)
    const answer = clientAnswer(h.status, h.statusMessage, h.headers, bodyless, { http11, keepAlive: this.req.keepAlive && !this.conn.closing, keepAliveSeconds: KEEP_ALIVE_TIMEOUT_MS / 1000 })
    this.framing = answer.framing
    this.upstreamKeepAlive = h.keepAlive
    if (answer.framing === 'close' || !this.req.keepAlive) this.conn.closing = true
    this.conn.write(answer.head)
    this.answerStarted = true
    return this.req.method === 'HEAD'
  }

  body(chunk: Buffer): void {
    if (this.swallow) return
    const more = writeBodyPiece(this.conn.socket, chunk, this.framing === 'chunked')
    if (!more && !this.clientFull) {
      this.clientFull = true
      this.upstream?.stream.pause()
    }
  }

  complete(): void {
    if (this.informational) {
      this.informational = false
      return
    }
    const u = this.upstream
    this.upstream = undefined
    if (this.swallow) {
      this.retried = true
      this.conn.ctx.counters.retried++
      if (u !== undefined) this.conn.ctx.pool.release(u, this.upstreamKeepAlive)
      this.send().catch((err: unknown) => this.failed(err))
      return
    }
    if (this.framing === 'chunked') this.conn.write(LAST_CHUNK)
    this.phase = 'answered'
    // An answer before the whole request was sent leaves the connection in the middle of a request.
    if (u !== undefined) this.conn.ctx.pool.release(u, this.upstreamKeepAlive && this.whole)
    if (this.whole) {
      this.conn.done(this)
      return
    }
    this.held.forget()
  }

  lost(err: Error | undefined): void {
    this.upstream = undefined
    if (this.phase === 'abandoned' || this.phase === 'answered' || this.conn.gone) return
    const { counters, log } = this.conn.ctx
    if (this.answerStarted) {
      counters.upstreamErrors++
      log.warn({ err: err?.message ?? 'closed' }, 'the answer through the portal was cut short')
      this.conn.socket.destroy()
      return
    }
    // The database closed a kept-alive connection as this request went out on it: once more, on a new one.
    if (this.onReused && !this.answerBegun && !this.resent && this.whole && this.held.whole !== undefined) {
      this.resent = true
      this.send().catch((e: unknown) => this.failed(e))
      return
    }
    if (err instanceof PortalUnavailableError) {
      log.warn({ err: err.message }, 'request through the portal failed: the portal could not be opened')
      this.unavailable(err.message)
      return
    }
    counters.upstreamErrors++
    log.warn({ err: err?.message ?? 'closed' }, 'request through the portal failed')
    this.own(502, 'bad gateway', `the database could not be reached through the portal: ${err?.message ?? 'the connection closed'}`, false)
  }

  drain(): void {
    if (!this.conn.upstreamFull) return
    this.conn.upstreamFull = false
    this.conn.updateReading()
  }

  /** The client can take more of the answer. */
  clientDrained(): void {
    if (!this.clientFull) return
    this.clientFull = false
    this.upstream?.stream.resume()
  }

  /** Answers the client with the inlet's own answer; the rest of the body goes nowhere. */
  private own(status: number, code: string, message: string, close: boolean, extra = ''): void {
    if (this.answerStarted || this.phase === 'answered' || this.phase === 'abandoned' || this.conn.gone) {
      this.conn.socket.destroy()
      return
    }
    const u = this.upstream
    this.upstream = undefined
    if (u !== undefined) this.conn.ctx.pool.release(u, false)
    this.phase = 'answered'
    this.held.forget()
    this.dropHeld()
    if (close || !this.req.keepAlive) this.conn.closing = true
    this.conn.write(ownAnswer(status, code, message, this.conn.closing, extra))
    if (close) this.conn.closeAfterWrites()
    else if (this.whole) this.conn.done(this)
  }
}
