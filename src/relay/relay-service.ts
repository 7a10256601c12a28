import type { Logger } from 'pino'
import { z } from 'zod'
import { local, type Address } from '../routing/address.js'
import type { LocalMessage } from '../routing/message.js'
import type { AccessControl, Router } from '../routing/router.js'
import { RpcError, serveRpc } from '../services/rpc.js'
import { nameSchema } from '../encoding/names.js'

export const RELAY_ADDRESS = 'relay'
export const MAX_RELAYS = 100_000
export const RelayName = nameSchema('a relay name')

const FORWARDER_PREFIX = 'forward_to_'

export function forwarderAddress(name: string): string {
  return `${FORWARDER_PREFIX}${name}`
}

export function isForwarderAddress(address: string): boolean {
  return address.startsWith(FORWARDER_PREFIX)
}

interface Registration {
  name: string
  channel: string
  identifier: string
  registeredAt: string
  forwarded: number
  /** Registered to share the name with other outlets in front of the same service. */
  shared: boolean
  hopFor: (m: { secureChannel?: unknown }) => Address
}

/** The holders of one relay name: one, or several that asked to share it. */
interface RelayEntry {
  holders: Registration[]
  /** New channels are spread over the holders in turn. */
  next: number
}

const Register = z.object({ name: RelayName, shared: z.boolean().optional() }).strict()

export interface RelayServiceOptions {
  router: Router
  log: Logger
  /** Who may send through a relay (the `relay` resource's policy). */
  access: AccessControl
  /** Runs `fn` when the secure channel at `address` closes. */
  onChannelClose: (address: string, fn: () => void) => void
  /** The TCP connection worker a channel runs directly over, for forwarding plain messages. */
  carrierOf?: (channel: string) => Address | undefined
  /** Told of every change of a registration, for metrics. */
  onChange?: (change: RelayChange) => void
}

/** What happened to a relay name: taken, taken again by its holder (a new channel), refused to another identity, or let go. */
export type RelayChange = 'registered' | 'replaced' | 'refused' | 'removed'

/**
 * Named forwarding points on the project node. A node registers `NAME` over its own outbound
 * secure channel; `forward_to_NAME` then sends whatever reaches it down that channel. The relay
 * sees only the inner end-to-end ciphertext.
 */
export class RelayService {
  private readonly relays = new Map<string, RelayEntry>()
  private holders = 0

  constructor(private readonly o: RelayServiceOptions) {}

  start(): void {
    serveRpc(this.o.router, RELAY_ADDRESS, {
      register: (args, msg) => Promise.resolve(this.register(args, msg)),
      unregister: (args, msg) => Promise.resolve(this.unregister(args, msg))
    }, this.o.log,
      (msg) => msg.secureChannel !== undefined)
  }

  list(): Omit<Registration, 'channel' | 'hopFor'>[] {
    return [...this.relays.values()].flatMap((e) => e.holders.map(({ channel: _c, hopFor: _h, ...r }) => r))
  }

  /** Its holder gives a name up (the relay was deleted at its node); no one else may. */
  private unregister(args: unknown, msg: LocalMessage): unknown {
    const { name } = z.object({ name: RelayName }).strict().parse(args)
    const held = this.relays.get(name)?.holders.find((h) => h.channel === msg.secureChannel?.channel) ??
      this.relays.get(name)?.holders.find((h) => h.identifier === msg.secureChannel?.identifier)
    if (held === undefined) return { name, removed: false }
    this.remove(held)
    this.o.log.info({ relay: name, identifier: held.identifier }, 'relay removed by its holder')
    return { name, removed: true }
  }

  private register(args: unknown, msg: LocalMessage): unknown {
    const { name, shared = false } = Register.parse(args)
    const sc = msg.secureChannel
    if (sc === undefined) throw new RpcError('relays are registered through a secure channel', 'unauthenticated')
    const allowed = sc.attributes.relay
    if (!sc.hasCredential || (allowed !== name && allowed !== '*')) {
      throw new RpcError(`${sc.identifier} may not register relay '${name}': its credential's relay attribute is ${allowed === undefined ? 'absent' : `'${allowed}'`}`, 'forbidden')
    }
    const address = forwarderAddress(name)
    const entry = this.relays.get(name)
    const holders = entry?.holders ?? []
    // Its holder confirming it over the same channel: nothing changes.
    if (holders.some((h) => h.channel === sc.channel)) return { name, address }
    // A live registration is never taken over by another identity, nor joined unless every
    // holder asked to share the name: whoever may name the relay could otherwise draw the next
    // clients (and their lease requests) to itself.
    const others = holders.filter((h) => h.identifier !== sc.identifier || h.shared)
    if (others.length > 0 && !(shared && others.every((h) => h.shared))) {
      this.o.onChange?.('refused')
      this.o.log.warn({ relay: name, identifier: sc.identifier, holders: others.map((h) => h.identifier) }, 'relay registration refused: the name is held by another identity')
      throw new RpcError(`relay '${name}' is registered by another identity${others.every((h) => h.shared) ? ' (register it shared to join it)' : ''}`, 'conflict')
    }
    if (this.holders >= MAX_RELAYS) throw new RpcError(`relay limit of ${MAX_RELAYS} reached`, 'limit')
    // The same identity over a new channel (its node came back before the old channel closed) replaces its exclusive registration.
    const previous = shared ? undefined : holders.find((h) => h.identifier === sc.identifier)
    if (previous !== undefined) this.remove(previous, true)
    const channelHop = local(sc.channel)
    // A plain message (an end-to-end channel's own ciphertext, let in by `access` because of the
    // credential on its connection) goes plainly down the registering node's connection; anything
    // that came through a secure channel goes back into one.
    const plainHop = this.o.carrierOf?.(sc.channel)
    const registration: Registration = {
      name, channel: sc.channel, identifier: sc.identifier, registeredAt: new Date().toISOString(), forwarded: 0, shared,
      hopFor: (m) => m.secureChannel === undefined && plainHop !== undefined ? plainHop : channelHop
    }
    this.add(registration)
    this.o.onChannelClose(sc.channel, () => {
      if (!this.relays.get(name)?.holders.includes(registration)) return
      this.remove(registration)
      this.o.log.info({ relay: name, identifier: sc.identifier }, 'relay removed: its node disconnected')
    })
    this.o.onChange?.(previous === undefined ? 'registered' : 'replaced')
    this.o.log.info({ relay: name, identifier: sc.identifier, replaced: previous !== undefined, shared, holders: this.relays.get(name)?.holders.length ?? 0 }, 'relay registered')
    return { name, address }
  }

  private add(r: Registration): void {
    const existing = this.relays.get(r.name)
    this.holders++
    if (existing !== undefined) {
      existing.holders.push(r)
      return
    }
    const entry: RelayEntry = { holders: [r], next: 0 }
    this.relays.set(r.name, entry)
    const { router } = this.o
    // Only a channel's first handshake message comes through here (its later messages take the
    // route the answer came by), so spreading messages in turn spreads channels.
    const pick = (): Registration | undefined => entry.holders[entry.next++ % entry.holders.length]
    router.register(forwarderAddress(r.name), {
      handleMessage(m) {
        const h = pick()
        if (h === undefined) return
        h.forwarded++
        router.send({ onward: [h.hopFor(m), ...m.onward.slice(1)], return: m.return, payload: m.payload })
      },
      // Pieces may come off a connection (plain) or out of a secure channel: the same rule applies.
      handleParts(m) {
        const h = pick()
        if (h === undefined) return
        h.forwarded++
        router.sendParts({ onward: [h.hopFor(m), ...m.onward.slice(1)], return: m.return, parts: m.parts, length: m.length })
      }
    }, { incoming: this.o.access })
  }

  private remove(r: Registration, replaced = false): void {
    const entry = this.relays.get(r.name)
    if (entry === undefined) return
    const i = entry.holders.indexOf(r)
    if (i < 0) return
    entry.holders.splice(i, 1)
    this.holders--
    if (!replaced) this.o.onChange?.('removed')
    if (entry.holders.length > 0) return
    this.relays.delete(r.name)
    this.o.router.unregister(forwarderAddress(r.name))
  }
}
