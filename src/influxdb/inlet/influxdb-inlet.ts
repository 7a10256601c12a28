import type { Duplex } from 'node:stream'
import { createServer, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import type { Logger } from 'pino'
import { parseHostPort } from '../../transport/host-port.js'
import type { LeaseKeeper } from './lease-keeper.js'
import { ClientConnection } from './client-connection.js'
import { MAX_CLIENT_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS, TIMEOUT_CHECK_MS, UPSTREAM_SOCKETS_PER_ADDRESS, UPSTREAM_IDLE_MS, UPSTREAM_SOCKETS, type InletContext, type InletCounters } from './inlet-limits.js'
import { UpstreamPool } from '../http/upstream-pool.js'

export interface InfluxdbInletOptions {
  log: Logger
  from: string
  /** Opens a connection through the portal to the InfluxDB outlet (in-process, no listener). */
  upstream: () => Duplex
  leases: LeaseKeeper
  strategy: 'shared' | 'per-client'
  /**
   * Why the outlet cannot be reached now (its last attempt failed), or undefined: requests are
   * answered at once meanwhile, 403 when a hop refused this node (its identity revoked, say), else 503.
   */
  outletDown?: () => Error | undefined
}

/**
 * The client-facing HTTP/1.1 endpoint (Node's own parser: keep-alive, pipelining, chunked bodies,
 * streaming): it removes every credential the client sent, injects the current lease, and sends
 * the request through the portal over kept-alive connections shared by all its clients.
 */
export class InfluxdbInlet {
  private server: Server | undefined
  private readonly connections = new Set<ClientConnection>()
  private readonly perAddress = new Map<string, number>()
  private readonly counters: InletCounters = { requests: 0, retried: 0, badRequests: 0, upstreamErrors: 0, withoutLease: 0, refused: 0 }
  private readonly context: InletContext
  private timeouts: NodeJS.Timeout | undefined

  constructor(private readonly o: InfluxdbInletOptions) {
    this.context = {
      log: o.log, leases: o.leases, pool: new UpstreamPool(o.upstream, UPSTREAM_SOCKETS, UPSTREAM_SOCKETS_PER_ADDRESS), counters: this.counters,
      ...(o.outletDown !== undefined ? { outletDown: o.outletDown } : {})
    }
  }

  get requests(): number { return this.counters.requests }
  get retried(): number { return this.counters.retried }
  get badRequests(): number { return this.counters.badRequests }
  get upstreamErrors(): number { return this.counters.upstreamErrors }
  get withoutLease(): number { return this.counters.withoutLease }
  get refused(): number { return this.counters.refused }

  async start(): Promise<string> {
    const { host, port } = parseHostPort(this.o.from)
    // Half-open: a client may send its last request and shut its side; it still gets the answer.
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => this.accept(socket))
    server.maxConnections = MAX_CLIENT_CONNECTIONS
    server.listen(port, host)
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => { throw e as Error })])
    this.server = server
    this.timeouts = setInterval(() => this.checkTimeouts(), TIMEOUT_CHECK_MS).unref()
    const a = server.address()
    const bound = a !== null && typeof a === 'object' ? `${a.address}:${a.port}` : this.o.from
    this.o.log.info({ from: bound, strategy: this.o.strategy }, 'influxdb inlet listening')
    return bound
  }

  async stop(): Promise<void> {
    clearInterval(this.timeouts)
    const s = this.server
    this.context.pool.destroyAll()
    if (s?.listening === true) {
      s.close()
      for (const c of this.connections) c.socket.destroy()
      await once(s, 'close')
    }
  }

  summary(): Record<string, unknown> {
    const c = this.counters
    return { requests: c.requests, retriedAfter401: c.retried, badRequests: c.badRequests, upstreamErrors: c.upstreamErrors, withoutLease: c.withoutLease, refused: c.refused, strategy: this.o.strategy }
  }

  private accept(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown'
    const n = this.perAddress.get(address) ?? 0
    if (n >= MAX_CONNECTIONS_PER_ADDRESS) {
      this.counters.refused++
      if (n === MAX_CONNECTIONS_PER_ADDRESS) this.o.log.warn({ address, limit: MAX_CONNECTIONS_PER_ADDRESS }, 'a client address reached its connection limit; further connections are closed')
      this.perAddress.set(address, n + 1)
      socket.once('close', () => this.forget(address))
      socket.destroy()
      return
    }
    this.perAddress.set(address, n + 1)
    const key = this.o.strategy === 'per-client' ? address : 'shared'
    this.connections.add(new ClientConnection(socket, this.context, key, (c) => {
      this.connections.delete(c)
      this.forget(address)
    }))
  }

  private forget(address: string): void {
    const n = (this.perAddress.get(address) ?? 1) - 1
    if (n <= 0) this.perAddress.delete(address)
    else this.perAddress.set(address, n)
  }

  private checkTimeouts(): void {
    const now = Date.now()
    for (const c of this.connections) c.check(now)
    this.context.pool.closeIdle(now - UPSTREAM_IDLE_MS)
  }
}
