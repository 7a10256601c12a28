import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { once } from 'node:events'
import type { Logger } from 'pino'
import { randomAddress } from '../channel/context.js'
import { local } from '../routing/address.js'
import type { LocalMessage } from '../routing/message.js'
import type { Router } from '../routing/router.js'
import { parseHostPort } from '../transport/host-port.js'
import { PortalConnection } from './portal-connection.js'
import { decodePortalMessage, encodePortalMessage, PORTAL_WINDOW_BYTES } from './portal-message.js'

export const TARGET_CONNECT_TIMEOUT_MS = 10_000
/** Connections one outlet carries at once unless its configuration says otherwise; more are refused with a reason. */
export const MAX_OUTLET_CONNECTIONS = 10_000
/**
 * The most an outlet may be configured to carry: each connection holds a file descriptor, and a
 * process rarely may open more than a million.
 */
export const MAX_OUTLET_CONNECTIONS_LIMIT = 1_000_000

export interface TcpOutletOptions {
  router: Router
  log: Logger
  /** Worker address the inlets name in their route (`outlet` unless `from` says otherwise). */
  address: string
  /** HOST:PORT of the service behind the outlet. */
  to: string
  tls?: { ca?: Buffer; servername?: string }
  /** Who may connect: the outlet's policy, decided on the inlet identity; a refusal is answered with its reason. */
  decide: (msg: LocalMessage) => { allowed: boolean; reason: string }
  /** What the target is, in the reasons given to inlets ('the database'); 'its target' if not given. */
  targetName?: string
  /** Connections carried at once (MAX_OUTLET_CONNECTIONS if not given). */
  maxConnections?: number
}

/** The database side of a portal: for each `connect` that passes the policy, one TCP connection to the target. */
export class TcpOutlet {
  private readonly connections = new Set<PortalConnection>()
  accepted = 0
  refused = 0

  constructor(private readonly o: TcpOutletOptions) {}

  start(): void {
    this.o.router.register(this.o.address, { handleMessage: (m) => this.onConnect(m) }, { incoming: (m) => m.secureChannel !== undefined })
    this.o.log.info({ address: this.o.address, to: this.o.to, tls: this.o.tls !== undefined }, 'tcp outlet ready')
  }

  stop(): void {
    this.o.router.unregister(this.o.address)
    for (const c of this.connections) c.close('outlet stopping')
  }

  get size(): number {
    return this.connections.size
  }

  summary(): Record<string, unknown> {
    return { address: this.o.address, to: this.o.to, tls: this.o.tls !== undefined, connections: this.connections.size, accepted: this.accepted, refused: this.refused }
  }

  private reply(msg: LocalMessage, from: string, payload: Uint8Array): void {
    this.o.router.send({ onward: msg.return, return: [local(from)], payload })
  }

  private onConnect(msg: LocalMessage): void {
    const channel = msg.secureChannel?.channel
    let credit: number
    try {
      const m = decodePortalMessage(msg.payload)
      if (m.kind !== 'connect') throw new Error(`expected connect, got ${m.kind}`)
      credit = m.credit
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'malformed portal request')
      return
    }
    if (channel === undefined) return
    const decision = this.o.decide(msg)
    if (!decision.allowed) {
      this.refused++
      this.reply(msg, this.o.address, encodePortalMessage({ kind: 'close', reason: `refused by the outlet: ${decision.reason}` }))
      return
    }
    const limit = this.o.maxConnections ?? MAX_OUTLET_CONNECTIONS
    if (this.connections.size >= limit) {
      this.refused++
      this.reply(msg, this.o.address, encodePortalMessage({ kind: 'close', reason: `outlet at its limit of ${limit} connections` }))
      return
    }
    // Connect without blocking the next request: many clients open connections at once.
    void this.open(msg, channel, credit)
  }

  private async open(msg: LocalMessage, channel: string, credit: number): Promise<void> {
    const { host, port } = parseHostPort(this.o.to)
    const address = randomAddress('outlet-conn')
    let socket: Socket
    try {
      socket = this.o.tls !== undefined
        ? tlsConnect({ host, port, ...(this.o.tls.ca !== undefined ? { ca: this.o.tls.ca } : {}), servername: this.o.tls.servername ?? host })
        : netConnect({ host, port, allowHalfOpen: true })
      socket.setNoDelay(true)
      await once(socket, this.o.tls !== undefined ? 'secureConnect' : 'connect', { signal: AbortSignal.timeout(TARGET_CONNECT_TIMEOUT_MS) })
    } catch (err) {
      this.refused++
      const reason = `the outlet cannot connect to ${this.o.targetName ?? 'its target'} at ${this.o.to}: ${(err as Error).message}`
      this.o.log.warn({ to: this.o.to, err: (err as Error).message }, 'target unreachable')
      this.reply(msg, address, encodePortalMessage({ kind: 'close', reason }))
      return
    }
    socket.pause()
    const conn = new PortalConnection({
      router: this.o.router, log: this.o.log, socket, address, peerRoute: msg.return, channel, initialCredit: credit,
      onClose: () => this.connections.delete(conn)
    })
    this.connections.add(conn)
    this.accepted++
    conn.start()
    this.reply(msg, address, encodePortalMessage({ kind: 'connected', credit: PORTAL_WINDOW_BYTES }))
  }
}
