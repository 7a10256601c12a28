import type { Duplex, Writable } from 'node:stream'
import { HttpMessageParser, type MessageHandler } from './http-parser.js'

/** The largest answer head read from the database. */
export const MAX_ANSWER_HEAD_BYTES = 64 * 1024

/** The exchange an upstream connection serves: it takes the answer as the parser reads it. */
export interface AnswerHandler extends MessageHandler {
  /** Where the answer goes: corked while one read of the answer is parsed, so its pieces leave together. */
  readonly client: Writable
  /** The connection ended, failed or sent bytes that are no HTTP while this exchange held it. */
  lost(err: Error | undefined): void
  /** The connection can take more of the request body. */
  drain(): void
}

/**
 * One kept-alive connection through the portal to the database, with the parser of its answers.
 * It serves one exchange at a time, and goes back to its pool when that exchange is done with it.
 */
export class Upstream {
  private readonly parser: HttpMessageParser
  private handler: AnswerHandler | undefined
  private gone = false
  /** When it last went idle in its pool (ms since the epoch). */
  idleSince = 0
  /** Whether it has served an exchange before: a request on it may meet a close the database sent while it was idle. */
  reused = false
  /** The client address whose exchange holds it, for the pool's per-client share. */
  holder: string | undefined

  constructor(readonly stream: Duplex, private readonly onGone: (u: Upstream) => void) {
    this.parser = new HttpMessageParser('response', MAX_ANSWER_HEAD_BYTES, {
      begin: () => this.handler?.begin(),
      head: (h) => this.handler?.head(h) ?? false,
      body: (c) => this.handler?.body(c),
      complete: () => this.handler?.complete()
    })
    stream.on('data', (chunk: Buffer) => this.read(chunk))
    stream.on('drain', () => this.handler?.drain())
    stream.on('end', () => {
      // An answer that runs until the connection closes is complete now; any other is cut short.
      try {
        this.parser.finish()
        this.lose(undefined)
      } catch (err) {
        this.lose(err as Error)
      }
    })
    stream.on('error', (err) => this.lose(err))
    stream.on('close', () => this.lose(undefined))
  }

  get alive(): boolean {
    return !this.gone
  }

  /** Hands the connection to an exchange, which must `detach` before it goes back to the pool. */
  attach(handler: AnswerHandler): void {
    this.handler = handler
  }

  detach(): void {
    this.handler = undefined
    // An exchange that held the answer back for a slow client leaves it flowing for the next.
    if (this.stream.isPaused()) this.stream.resume()
  }

  destroy(): void {
    this.stream.destroy()
    this.lose(undefined)
  }

  private read(chunk: Buffer): void {
    const h = this.handler
    // Bytes nobody asked for: the connection is out of step with its requests and is of no more use.
    if (h === undefined) {
      this.destroy()
      return
    }
    h.client.cork()
    try {
      this.parser.execute(chunk)
    } catch (err) {
      this.stream.destroy()
      this.lose(err as Error)
    } finally {
      h.client.uncork()
    }
  }

  private lose(err: Error | undefined): void {
    if (this.gone) return
    this.gone = true
    this.stream.destroy()
    this.parser.close()
    const h = this.handler
    this.handler = undefined
    this.onGone(this)
    h?.lost(err)
  }
}

/**
 * The kept-alive connections through the portal, shared by all client connections: at most `max`
 * at once, the most recently used taken first; beyond that, requests wait for one to come back.
 * One client address holds at most `maxPerHolder` at once, so a client that keeps its requests
 * open (a slow body) cannot take them all: its further requests wait while others are served.
 */
export class UpstreamPool {
  private readonly idle: Upstream[] = []
  /** Waiting requests in the order they came, each with its client address. */
  private readonly waiting = new Map<(u: Upstream) => void, string>()
  private readonly holding = new Map<string, number>()
  private open = 0

  constructor(private readonly connect: () => Duplex, private readonly max: number, private readonly maxPerHolder = max) {}

  /** An idle or new connection for `holder`, or undefined when `max` are busy or `holder` has its share. */
  take(holder: string): Upstream | undefined {
    if ((this.holding.get(holder) ?? 0) >= this.maxPerHolder) return undefined
    const u = this.idleOrNew()
    if (u !== undefined) this.hold(u, holder)
    return u
  }

  /** Calls `ready` with a connection as soon as one is free for `holder`; returns a function that cancels the wait. */
  wait(holder: string, ready: (u: Upstream) => void): () => void {
    this.waiting.set(ready, holder)
    return () => this.waiting.delete(ready)
  }

  /** An exchange is done with `u`; it stays open for the next if `reusable`. */
  release(u: Upstream, reusable: boolean): void {
    u.detach()
    this.unhold(u)
    if (!reusable || !u.alive) {
      u.destroy()
      return
    }
    u.reused = true
    if (this.serveWaiter(u)) return
    u.idleSince = Date.now()
    this.idle.push(u)
  }

  /** Closes connections idle since before `before` (ms since the epoch). */
  closeIdle(before: number): void {
    for (const u of this.idle.filter((x) => x.idleSince < before)) u.destroy()
  }

  destroyAll(): void {
    this.waiting.clear()
    for (const u of this.idle.splice(0)) u.destroy()
  }

  private idleOrNew(): Upstream | undefined {
    for (let u = this.idle.pop(); u !== undefined; u = this.idle.pop()) {
      if (u.alive) return u
    }
    if (this.open >= this.max) return undefined
    const stream = this.connect()
    this.open++
    return new Upstream(stream, (u) => this.gone(u))
  }

  private hold(u: Upstream, holder: string): void {
    u.holder = holder
    this.holding.set(holder, (this.holding.get(holder) ?? 0) + 1)
  }

  private unhold(u: Upstream): void {
    const h = u.holder
    if (h === undefined) return
    u.holder = undefined
    const n = (this.holding.get(h) ?? 1) - 1
    if (n <= 0) this.holding.delete(h)
    else this.holding.set(h, n)
  }

  private gone(u: Upstream): void {
    this.open--
    this.unhold(u)
    const i = this.idle.indexOf(u)
    if (i >= 0) this.idle.splice(i, 1)
    // Room for one more: the first waiter that may have it gets a new connection.
    this.serveWaiter(undefined)
  }

  /** Gives `u` (or an idle or new connection) to the first waiter under its share; false if none could be served. */
  private serveWaiter(u: Upstream | undefined): boolean {
    for (const [ready, holder] of this.waiting) {
      if ((this.holding.get(holder) ?? 0) >= this.maxPerHolder) continue
      const given = u ?? this.idleOrNew()
      if (given === undefined) return false
      this.waiting.delete(ready)
      this.hold(given, holder)
      ready(given)
      return true
    }
    return false
  }
}
