import type { Logger } from 'pino'
import type { LocalMessage } from '../routing/message.js'
import type { Router } from '../routing/router.js'
import type { Transport } from './transport.js'
import { TcpConnection } from './tcp-connection.js'
import { duplexPair } from './duplex-pair.js'
import type { Duplex } from 'node:stream'

/** Address type of in-memory peers: the value is the name a transport listens on in its hub. */
export const MEMORY = 2

/** The shared namespace in which in-memory transports find each other (one per test, say). */
export class MemoryHub {
  readonly listeners = new Map<string, MemoryTransport>()
}

/**
 * An in-process transport for tests: the same framing and connection workers as TCP, over an
 * in-memory stream pair instead of a socket, so tests run without ports.
 */
export class MemoryTransport implements Transport {
  readonly type = MEMORY
  private readonly outgoing = new Map<string, TcpConnection>()
  private readonly accepted = new Set<TcpConnection>()
  private readonly listening = new Set<string>()

  constructor(private readonly router: Router, private readonly log: Logger, private readonly hub: MemoryHub) {
    router.registerTransport(this)
  }

  listen(name: string): void {
    if (this.hub.listeners.has(name)) throw new Error(`memory address ${name} is taken`)
    this.hub.listeners.set(name, this)
    this.listening.add(name)
  }

  send(msg: LocalMessage): boolean {
    const peer = msg.onward[0]?.value
    if (peer === undefined) return false
    let conn = this.outgoing.get(peer)
    if (conn === undefined || conn.isClosed) {
      const target = this.hub.listeners.get(peer)
      if (target === undefined) return false
      const [mine, theirs] = duplexPair()
      target.accept(theirs, `memory:${peer}`)
      conn = new TcpConnection(mine, this.router, this.log, peer, 'out')
      this.outgoing.set(peer, conn)
    }
    return conn.write({ ...msg, onward: msg.onward.slice(1) })
  }

  disconnect(peer: string): void {
    this.outgoing.get(peer)?.close('closed locally')
  }

  close(): Promise<void> {
    for (const c of [...this.outgoing.values(), ...this.accepted]) c.close('transport stopped')
    for (const name of this.listening) this.hub.listeners.delete(name)
    this.listening.clear()
    return Promise.resolve()
  }

  private accept(stream: Duplex, peer: string): void {
    const conn = new TcpConnection(stream, this.router, this.log, peer, 'in')
    this.accepted.add(conn)
    conn.onClose(() => this.accepted.delete(conn))
  }
}
