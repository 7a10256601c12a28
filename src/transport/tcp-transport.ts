import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import type { Logger } from 'pino'
import { LOCAL, TCP } from '../routing/address.js'
import type { LocalMessage } from '../routing/message.js'
import type { Router } from '../routing/router.js'
import type { Transport } from './transport.js'
import { TcpConnection, type ConnectionInfo } from './tcp-connection.js'
import { formatHostPort, parseHostPort, type HostPort } from './host-port.js'
import { encodeUnreachable } from '../routing/unreachable.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'

export const CONNECT_TIMEOUT_MS = 10_000
/** Messages held for a peer while its connection is being set up. */
export const MAX_PENDING_PER_PEER = 256

export class ConnectError extends PorticoError {
  override readonly code: string = 'connect'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'ConnectError'
}

/**
 * Owns TCP listeners and connections. A TCP address in an onward route means "the connection
 * to this peer": made on first use, reused after, and made again if it drops.
 */
export class TcpTransport implements Transport {
  readonly type = TCP
  private readonly servers = new Set<Server>()
  /** Every open connection, by its worker address. */
  private readonly connections = new Map<string, TcpConnection>()
  /** Whether plain messages that arrived on connection `from` may go on to another TCP peer. */
  private mayForwardFrom: (from: string) => boolean = () => false
  private readonly outgoing = new Map<string, TcpConnection>()
  private readonly pending = new Map<string, LocalMessage[]>()
  private readonly closedHandlers: ((info: ConnectionInfo, reason: string) => void)[] = []

  constructor(private readonly router: Router, private readonly log: Logger) {
    router.registerTransport(this)
  }

  async listen(address: string, signal?: AbortSignal): Promise<HostPort> {
    const { host, port } = parseHostPort(address)
    const server = createServer((socket) => this.accept(socket))
    server.on('error', (err) => this.log.error({ err: err.message }, 'tcp listener error'))
    server.listen({ host, port, signal })
    await once(server, 'listening')
    this.servers.add(server)
    const bound = server.address()
    if (bound === null || typeof bound === 'string') throw new ConnectError('listener has no address')
    const result = { host: bound.address, port: bound.port }
    this.log.info({ address: formatHostPort(result) }, 'tcp listener started')
    return result
  }

  /** Connects now (or returns the live connection); most callers just route to a TCP address. */
  async connect(peer: string, signal?: AbortSignal): Promise<TcpConnection> {
    const existing = this.outgoing.get(peer)
    if (existing !== undefined && !existing.isClosed) return existing
    const { host, port } = parseHostPort(peer)
    const socket = createConnection({ host, port })
    const timeout = AbortSignal.timeout(CONNECT_TIMEOUT_MS)
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
    try {
      await once(socket, 'connect', { signal: combined })
    } catch (err) {
      socket.destroy()
      throw new ConnectError(`cannot connect to ${peer}: ${(err as Error).message}`, { cause: err })
    }
    const again = this.outgoing.get(peer)
    if (again !== undefined && !again.isClosed) {
      socket.destroy()
      return again
    }
    const conn = this.adopt(socket, peer, 'out')
    this.outgoing.set(peer, conn)
    conn.onClose(() => {
      if (this.outgoing.get(peer) === conn) this.outgoing.delete(peer)
    })
    return conn
  }

  /** Is `address` one of our connection workers? */
  isConnection(address: string): boolean {
    return this.connections.has(address)
  }

  /**
   * A peer's plain messages reach local workers only, unless `policy` vouches for the connection
   * they came by: otherwise anyone who can connect could make this node open connections or
   * write to other peers' connections on its behalf.
   */
  setForwardingPolicy(policy: (from: string) => boolean): void {
    this.mayForwardFrom = policy
  }

  /** Messages from local workers and out of secure channels go anywhere; plain ones from a peer need the policy. */
  private mayForward(msg: Omit<LocalMessage, 'payload'>): boolean {
    const from = msg.return[0]
    if (from === undefined || from.type !== LOCAL || !this.connections.has(from.value)) return true
    return this.mayForwardFrom(from.value)
  }

  send(msg: LocalMessage): boolean {
    const peer = msg.onward[0]?.value
    if (peer === undefined) return false
    if (!this.mayForward(msg)) {
      this.log.debug({ peer }, 'plain message from a peer may not go on to another peer: dropped')
      return false
    }
    const forward = { ...msg, onward: msg.onward.slice(1) }
    const conn = this.outgoing.get(peer)
    if (conn !== undefined && !conn.isClosed) return conn.write(forward)
    let queue = this.pending.get(peer)
    if (queue !== undefined) {
      if (queue.length >= MAX_PENDING_PER_PEER) return false
      queue.push(forward)
      return true
    }
    queue = [forward]
    this.pending.set(peer, queue)
    this.connect(peer).then(
      (c) => {
        this.pending.delete(peer)
        for (const m of queue) c.write(m)
      },
      (err: unknown) => {
        this.pending.delete(peer)
        this.log.warn({ peer, err: (err as Error).message, dropped: queue.length }, 'could not reach tcp peer')
        // Each sender learns at once that the peer is not there (a handshake fails now, not at its time-out).
        for (const m of queue) if (m.return.length > 0) this.router.send({ onward: m.return, return: [], payload: encodeUnreachable(peer) })
      }
    )
    return true
  }

  /** Told of every connection that closes, so what runs over it (secure channels) can close too. */
  onConnectionClosed(handler: (info: ConnectionInfo, reason: string) => void): void {
    this.closedHandlers.push(handler)
  }

  list(): ConnectionInfo[] {
    return [...this.connections.values()].map((c) => c.info())
  }

  /** Closes one peer's outgoing connection, as if the network dropped it (for recovery tests). */
  disconnect(peer: string): void {
    this.outgoing.get(peer)?.close('closed locally')
  }

  async close(): Promise<void> {
    for (const c of [...this.connections.values()]) c.close('transport stopped')
    await Promise.all([...this.servers].map(async (s) => {
      s.close()
      if (s.listening) await once(s, 'close')
    }))
    this.servers.clear()
  }

  private accept(socket: Socket): void {
    this.adopt(socket, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`, 'in')
  }

  private adopt(socket: Socket, peer: string, direction: 'in' | 'out'): TcpConnection {
    const conn = new TcpConnection(socket, this.router, this.log, peer, direction, (m) => this.mayForward(m))
    this.connections.set(conn.address, conn)
    conn.onClose((reason) => {
      this.connections.delete(conn.address)
      for (const h of this.closedHandlers) h(conn.info(), reason)
    })
    this.log.debug({ peer, direction }, 'tcp connection open')
    return conn
  }
}
