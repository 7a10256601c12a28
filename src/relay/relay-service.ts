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
}

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
  private readonly relays = new Map<string, Registration>()

  constructor(private readonly o: RelayServiceOptions) {}

  start(): void {
    serveRpc(this.o.router, RELAY_ADDRESS, {
      register: (args, msg) => Promise.resolve(this.register(args, msg)),
      unregister: (args, msg) => Promise.resolve(this.unregister(args, msg))
    }, this.o.log,
      (msg) => msg.secureChannel !== undefined)
  }

  list(): Omit<Registration, 'channel'>[] {
    return [...this.relays.values()].map(({ channel: _c, ...r }) => r)
  }

  /** Its holder gives a name up (the relay was deleted at its node); no one else may. */
  private unregister(args: unknown, msg: LocalMessage): unknown {
    const { name } = z.object({ name: RelayName }).strict().parse(args)
    const held = this.relays.get(name)
    if (held === undefined || held.identifier !== msg.secureChannel?.identifier) return { name, removed: false }
    this.relays.delete(name)
    this.o.router.unregister(forwarderAddress(name))
    this.o.onChange?.('removed')
    this.o.log.info({ relay: name, identifier: held.identifier }, 'relay removed by its holder')
    return { name, removed: true }
  }

  private register(args: unknown, msg: LocalMessage): unknown {
    const { name } = z.object({ name: RelayName }).strict().parse(args)
    const sc = msg.secureChannel
    if (sc === undefined) throw new RpcError('relays are registered through a secure channel', 'unauthenticated')
    const allowed = sc.attributes.relay
    if (!sc.hasCredential || (allowed !== name && allowed !== '*')) {
      throw new RpcError(`${sc.identifier} may not register relay '${name}': its credential's relay attribute is ${allowed === undefined ? 'absent' : `'${allowed}'`}`, 'forbidden')
    }
    if (!this.relays.has(name) && this.relays.size >= MAX_RELAYS) throw new RpcError(`relay limit of ${MAX_RELAYS} reached`, 'limit')
    const address = forwarderAddress(name)
    const previous = this.relays.get(name)
    // A live registration is never taken over by another identity: whoever may name the relay
    // could otherwise draw the next clients (and their lease requests) to itself.
    if (previous !== undefined && previous.identifier !== sc.identifier) {
      this.o.onChange?.('refused')
      this.o.log.warn({ relay: name, identifier: sc.identifier, holder: previous.identifier }, 'relay registration refused: the name is held by another identity')
      throw new RpcError(`relay '${name}' is registered by another identity`, 'conflict')
    }
    // Its holder confirming it over the same channel: nothing changes.
    if (previous?.channel === sc.channel) return { name, address }
    if (previous !== undefined) this.o.router.unregister(address)
    const registration: Registration = { name, channel: sc.channel, identifier: sc.identifier, registeredAt: new Date().toISOString(), forwarded: 0 }
    this.relays.set(name, registration)
    const { router } = this.o
    const channelHop = local(registration.channel)
    // A plain message (an end-to-end channel's own ciphertext, let in by `access` because of the
    // credential on its connection) goes plainly down the registering node's connection; anything
    // that came through a secure channel goes back into one.
    const plainHop = this.o.carrierOf?.(sc.channel)
    const hopFor = (m: { secureChannel?: unknown }): Address => m.secureChannel === undefined && plainHop !== undefined ? plainHop : channelHop
    router.register(address, {
      handleMessage(m) {
        registration.forwarded++
        router.send({ onward: [hopFor(m), ...m.onward.slice(1)], return: m.return, payload: m.payload })
      },
      // Pieces may come off a connection (plain) or out of a secure channel: the same rule applies.
      handleParts(m) {
        registration.forwarded++
        router.sendParts({ onward: [hopFor(m), ...m.onward.slice(1)], return: m.return, parts: m.parts, length: m.length })
      }
    }, { incoming: this.o.access })
    this.o.onChannelClose(sc.channel, () => {
      if (this.relays.get(name) !== registration) return
      this.relays.delete(name)
      router.unregister(address)
      this.o.onChange?.('removed')
      this.o.log.info({ relay: name, identifier: sc.identifier }, 'relay removed: its node disconnected')
    })
    this.o.onChange?.(previous === undefined ? 'registered' : 'replaced')
    this.o.log.info({ relay: name, identifier: sc.identifier, replaced: previous !== undefined }, 'relay registered')
    return { name, address }
  }
}
