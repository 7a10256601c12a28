import type { Logger } from 'pino'
import { LOCAL, routeToString, type Address } from './address.js'
import { joinedMessage, type LocalMessage, type PartsMessage } from './message.js'
import { Mailbox, DEFAULT_MAILBOX_CAPACITY } from './mailbox.js'
import type { Worker } from './worker.js'

export type { Worker } from './worker.js'
import { decodeUnreachable, encodeUnreachable, MAX_NOTICE_LENGTH, MAX_NOTICED_ADDRESSES, UNREACHABLE_NOTICE_INTERVAL_MS } from './unreachable.js'
import { setNewest } from '../util/recency-map.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'

/**
 * Decides whether a message may reach a worker. Deny quietly: the sender learns nothing. It judges
 * by routes and where the message came from, never by the payload, so a message in parts is
 * judged as it is, with nothing built for it.
 */
export type AccessControl = (msg: Omit<LocalMessage, 'payload'>) => boolean
export const allowAll: AccessControl = () => true

/** Carries messages whose first onward address is not local (a TCP peer, say). */
export interface TransportRouter {
  readonly type: number
  send(msg: LocalMessage): boolean
}

export interface RegisterOptions {
  incoming?: AccessControl
  mailboxCapacity?: number
}

export class AddressInUseError extends PorticoError {
  override readonly code: string = 'address-in-use'
  override readonly kind: ErrorKind = 'conflict'
  override name = 'AddressInUseError'
}

interface Entry {
  worker: Worker
  mailbox: Mailbox
  incoming: AccessControl
}

export interface RouterStats {
  delivered: number
  /** Of those delivered, how many were handed over in pieces (never joined). */
  deliveredInParts: number
  dropped: { noRoute: number; denied: number; mailboxFull: number }
  /** Notices sent back for messages to workers this node does not have. */
  unreachableSent: number
}

/**
 * Delivers each message to the worker named by its first onward address, or to the transport
 * that owns that address type. One mailbox per worker runs its messages one at a time.
 */
export class Router {
  private readonly workers = new Map<string, Entry>()
  private readonly transports = new Map<number, TransportRouter>()
  readonly stats: RouterStats = { delivered: 0, deliveredInParts: 0, dropped: { noRoute: 0, denied: 0, mailboxFull: 0 }, unreachableSent: 0 }
  private readonly noticed = new Map<string, number>()

  constructor(private readonly log: Logger) {}

  register(address: string, worker: Worker, options: RegisterOptions = {}): Address {
    if (this.workers.has(address)) throw new AddressInUseError(`address ${address} is already registered`)
    const mailbox = new Mailbox(worker, options.mailboxCapacity ?? DEFAULT_MAILBOX_CAPACITY, this.log.child({ worker: address }))
    this.workers.set(address, { worker, mailbox, incoming: options.incoming ?? allowAll })
    return { type: LOCAL, value: address }
  }

  unregister(address: string): void {
    this.workers.delete(address)
  }

  isRegistered(address: string): boolean {
    return this.workers.has(address)
  }

  addresses(): string[] {
    return [...this.workers.keys()]
  }

  registerTransport(transport: TransportRouter): void {
    this.transports.set(transport.type, transport)
  }

  /** Returns false when the message was dropped; the reason is logged at debug level and counted. */
  send(msg: LocalMessage): boolean {
    const next = msg.onward[0]
    if (next === undefined) return this.drop('noRoute', msg, 'empty onward route')
    if (next.type !== LOCAL) {
      const transport = this.transports.get(next.type)
      if (transport === undefined) return this.drop('noRoute', msg, `no transport for type ${next.type}`)
      return transport.send(msg)
    }
    const entry = this.workers.get(next.value)
    const missing = msg.payload[0] === 0xff ? decodeUnreachable(msg.payload) : undefined
    if (entry === undefined) {
      if (missing === undefined) this.noticeUnreachable(next.value, msg.return)
      return this.drop('noRoute', msg, 'no such worker')
    }
    if (missing !== undefined && msg.onward.length === 1) {
      // At its destination a notice goes only to a worker that acts on it, never into another
      // worker's message stream; on the way (a connection, a channel, a relay) it travels as any message.
      entry.worker.handleUnreachable?.(missing, msg)
      return true
    }
    if (!entry.incoming(msg)) return this.drop('denied', msg, 'denied by access control')
    if (!entry.mailbox.push(msg)) return this.drop('mailboxFull', msg, 'mailbox full')
    this.stats.delivered++
    return true
  }

  /**
   * `send` for a payload in parts. A local worker that takes parts and has nothing queued gets
   * them as they are; anything else gets the parts joined, through `send`, so order and access
   * rules are the same either way.
   */
  sendParts(msg: PartsMessage): boolean {
    const next = msg.onward[0]
    if (next?.type === LOCAL) {
      const entry = this.workers.get(next.value)
      const worker = entry?.worker
      if (entry !== undefined && worker?.handleParts !== undefined && entry.mailbox.idle && (msg.length > MAX_NOTICE_LENGTH || msg.parts[0]?.[0] !== 0xff)) {
        if (entry.incoming !== allowAll && !entry.incoming(msg)) {
          return this.drop('denied', msg, 'denied by access control')
        }
        this.stats.delivered++
        this.stats.deliveredInParts++
        return entry.mailbox.runIfIdle(() => worker.handleParts?.(msg))
      }
    }
    return this.send(joinedMessage(msg))
  }

  /**
   * Tells the sender, along `returnRoute`, that `address` is not here; at most once a second per
   * address and reply address (the route's last hop, its sender's own worker), so a flood to a
   * dead address is not echoed back, yet every new handshake or request learns at once.
   */
  private noticeUnreachable(address: string, returnRoute: LocalMessage['return']): void {
    const replyTo = returnRoute[returnRoute.length - 1]
    if (replyTo === undefined) return
    const now = Date.now()
    const key = `${address} ${replyTo.value}`
    const last = this.noticed.get(key)
    if (last !== undefined && now - last < UNREACHABLE_NOTICE_INTERVAL_MS) return
    setNewest(this.noticed, key, now, MAX_NOTICED_ADDRESSES)
    this.stats.unreachableSent++
    this.send({ onward: returnRoute, return: [], payload: encodeUnreachable(address) })
  }

  private drop(reason: keyof RouterStats['dropped'], msg: { onward: LocalMessage['onward'] }, text: string): false {
    this.stats.dropped[reason]++
    this.log.debug({ onward: routeToString(msg.onward), reason }, `message dropped: ${text}`)
    return false
  }
}
