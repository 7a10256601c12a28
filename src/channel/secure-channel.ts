import type { Logger } from 'pino'
import { local, routeToString, type Route } from '../routing/address.js'
import { decodeMessageHead, encodeMessageHead, type LocalMessage, type PartsMessage, type SecureChannelInfo } from '../routing/message.js'
import type { Router } from '../routing/router.js'
import type { CredentialAndPurposeKey } from '../identity/credential.js'
import { TransportDecryptor, TransportEncryptor } from './transport-cipher.js'
import { joinParts, partsLength, sliceParts } from '../encoding/parts.js'
import { decodeChannelMessage, encodeClose, encodeControl, encodePayload, Kind } from './channel-message.js'
import { decodeCredentialsPayload, encodeCredentialsPayload, verifyCredentials, type PeerInfo, type VerifyContext } from './peer.js'
import type { TrustPolicy } from './trust-policy.js'
import type { Role } from './noise/handshake-xx.js'

/** Closing a channel a moment after its peer's credential expires avoids racing a refresh in flight. */
export const EXPIRY_GRACE_MS = 1000
/**
 * Keep-alives. A side that has sent nothing for CHANNEL_QUIET_TICKS whole ticks sends a ping, so
 * a live peer is heard from at least every three ticks (7.5 s) and an idle channel carries one
 * ping a tick, not one each way: a fleet is mostly idle, and its pings are most of what a relay
 * and an outlet do. A channel that has heard nothing for CHANNEL_SILENT_TICKS ticks (15 to 17.5 s)
 * closes: its peer died without a word, or every path to it went silent, and whoever uses the
 * channel builds a new one. This holds end to end, across relays that cannot tell a dead peer from
 * an idle one.
 */
export const CHANNEL_TICK_MS = 2500
export const CHANNEL_QUIET_TICKS = 2
export const CHANNEL_SILENT_TICKS = 7

export interface ChannelKeys {
  sendKey: Uint8Array
  receiveKey: Uint8Array
}

export interface SecureChannelParams {
  role: Role
  router: Router
  log: Logger
  verify: VerifyContext
  trustPolicy: TrustPolicy
  keys: ChannelKeys
  peer: PeerInfo
  /** Where the peer's decryptor is. */
  remoteRoute: Route
  /** Our decryptor address (already registered by the handshake driver, which forwards to us). */
  decryptorAddress: string
  encryptorAddress: string
  /** CHANNEL_TICK_MS unless a test shortens it. */
  keepAliveTickMs?: number
}

export interface ChannelSummary {
  address: string
  role: Role
  peer: string
  attributes: Record<string, string>
  remoteRoute: string
  openedAt: string
}

/**
 * An established channel. Messages routed to `address` are encrypted and sent to the peer;
 * messages from the peer are decrypted and routed here with `address` on their return route,
 * so answers go back through the channel.
 */
export class SecureChannel {
  readonly address: string
  private readonly encryptor: TransportEncryptor
  private readonly decryptor: TransportDecryptor
  private expiryTimer: NodeJS.Timeout | undefined
  private readonly keepAliveTimer: NodeJS.Timeout
  // Flags and a counter, not clock readings: the hot path only sets them, the tick reads them.
  private sentSinceTick = true
  private quietTicks = 0
  private silentTicks = 0
  private closed = false
  private readonly closeHandlers = new Set<(reason: string) => void>()
  private readonly openedAt = new Date()
  peer: PeerInfo
  private info: SecureChannelInfo
  private readonly returnRoute: Route

  constructor(private readonly p: SecureChannelParams) {
    this.address = p.encryptorAddress
    this.peer = p.peer
    this.info = this.describePeer()
    this.returnRoute = [local(p.decryptorAddress)]
    this.encryptor = new TransportEncryptor(p.verify.crypto, p.keys.sendKey)
    this.decryptor = new TransportDecryptor(p.verify.crypto, p.keys.receiveKey)
    // This node's own workers (and the channels it relays between) speak into the channel; a frame
    // from the network only answers what the channel sent over its connection. Anything else
    // naming the encryptor would reach the peer as from this node.
    p.router.register(this.address, { handleMessage: (m) => this.sendOut(m), handleParts: (m) => this.sendOutParts(m) }, { incoming: (m) => m.fromNetwork === undefined || m.fromNetwork.carried(this.address) })
    this.armExpiry()
    this.keepAliveTimer = setInterval(() => this.keepAlive(), p.keepAliveTickMs ?? CHANNEL_TICK_MS)
    this.keepAliveTimer.unref()
  }

  /** Where the peer's decryptor is: its first hop is the connection or channel this one runs over. */
  get remoteRoute(): Route {
    return this.p.remoteRoute
  }

  get role(): Role {
    return this.p.role
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** What messages out of this channel say about their sender (the peer as last verified). */
  get senderInfo(): SecureChannelInfo {
    return this.info
  }

  summary(): ChannelSummary {
    return {
      address: this.address, role: this.p.role, peer: this.peer.identifier, attributes: { ...this.peer.attributes },
      remoteRoute: routeToString(this.p.remoteRoute), openedAt: this.openedAt.toISOString()
    }
  }

  /** Runs `handler` once the channel closes; returns what stops it (for a user that goes first, so none piles up). */
  onClose(handler: (reason: string) => void): () => void {
    if (this.closed) {
      handler('already closed')
      return () => undefined
    }
    // Each subscription is a wrapper of its own, so the same function given twice is run twice.
    const once = (reason: string): void => handler(reason)
    this.closeHandlers.add(once)
    return () => this.closeHandlers.delete(once)
  }

  /** Sends our current credentials so the peer can extend the channel past their expiry. */
  refreshCredentials(credentials: readonly CredentialAndPurposeKey[]): void {
    this.sendControl(encodeControl(Kind.Refresh, encodeCredentialsPayload(credentials)))
  }

  /** For the responder: tells the initiator it was accepted. */
  sendReady(): void {
    this.sendControl(encodeControl(Kind.Ready))
  }

  close(reason = 'closed locally', notifyPeer = true): void {
    if (this.closed) return
    if (notifyPeer) this.sendControl(encodeClose(reason))
    this.closed = true
    clearTimeout(this.expiryTimer)
    clearInterval(this.keepAliveTimer)
    this.p.router.unregister(this.address)
    this.p.router.unregister(this.p.decryptorAddress)
    this.p.log.info({ channel: this.address, peer: this.peer.identifier, reason }, 'secure channel closed')
    const handlers = [...this.closeHandlers]
    this.closeHandlers.clear()
    for (const h of handlers) h(reason)
  }

  /**
   * A node on the way to the peer answered that `address` is not there. When it is a hop of the
   * route to the peer (its decryptor, a relay's forwarder, a connection), the peer is gone or
   * cannot be reached that way: the channel closes now, so whoever uses it builds a new one at
   * once rather than after its requests time out.
   */
  farEndGone(address: string): void {
    if (this.closed || !this.p.remoteRoute.some((a) => a.value === address)) return
    this.p.log.warn({ channel: this.address, peer: this.peer.identifier, missing: address }, 'the far end of a secure channel is gone')
    this.close(`the far end is gone: ${address} is not there`, false)
  }

  /** Called by the decryptor worker with each transport message from the peer. */
  receive(msg: LocalMessage): { kind: Kind; reason?: string } | undefined {
    return this.receiveParts({ onward: msg.onward, return: msg.return, parts: [msg.payload], length: msg.payload.byteLength })
  }

  /**
   * The same for a transport message in pieces. A payload whose head lies in the first piece of
   * plaintext goes on in pieces (a portal writes them to its socket); anything else is joined.
   */
  receiveParts(msg: PartsMessage): { kind: Kind; reason?: string } | undefined {
    if (this.closed) return undefined
    let decoded
    try {
      const plaintext = this.decryptor.decryptParts(msg.parts, msg.length)
      this.silentTicks = 0
      if (plaintext.length > 1 && this.sendOnInParts(plaintext)) return { kind: Kind.Payload }
      decoded = decodeChannelMessage(joinParts(plaintext))
    } catch (err) {
      const e = err as Error
      this.p.log.warn({ channel: this.address, peer: this.peer.identifier, err: `${e.name}: ${e.message}` }, 'rejected a message on a secure channel')
      this.close(`rejected a bad message: ${e.name}`, false)
      return undefined
    }
    switch (decoded.kind) {
      case Kind.Payload: {
        const { message } = decoded
        this.p.router.send({
          onward: message.onward,
          return: [local(this.address), ...message.return],
          payload: message.payload,
          secureChannel: this.info
        })
        return { kind: Kind.Payload }
      }
      case Kind.Refresh:
        this.applyRefresh(decoded.credentials)
        return { kind: Kind.Refresh }
      case Kind.Close:
        this.close(`closed by peer: ${decoded.reason}`, false)
        return { kind: Kind.Close, reason: decoded.reason }
      case Kind.Ready:
        return { kind: Kind.Ready }
      case Kind.Ping:
        return { kind: Kind.Ping }
    }
  }

  private sendOnInParts(plaintext: Uint8Array[]): boolean {
    const first = plaintext[0]
    if (first?.[0] !== Kind.Payload) return false
    const length = partsLength(plaintext) - 1
    let head
    try {
      head = decodeMessageHead(first.subarray(1), length)
    } catch {
      return false // the head was cut by a piece boundary, or is bad: the joined path decides
    }
    const parts = sliceParts(plaintext, 1 + head.payloadAt, 1 + length)
    this.p.router.sendParts({ onward: head.onward, return: [local(this.address), ...head.return], parts, length: length - head.payloadAt, secureChannel: this.info })
    return true
  }

  private sendOut(msg: LocalMessage): void {
    if (this.closed) return
    this.sendEncrypted(encodePayload({ onward: msg.onward.slice(1), return: msg.return, payload: msg.payload }))
  }

  private sendControl(plaintext: Uint8Array): void {
    this.sendEncrypted(plaintext)
  }

  /** A payload still in parts (a portal chunk and its header) is encrypted straight from them. */
  private sendOutParts(msg: PartsMessage): void {
    if (this.closed) return
    this.sendEncrypted([encodeMessageHead(msg.onward.slice(1), msg.return, msg.length, Kind.Payload), ...msg.parts])
  }

  private sendEncrypted(plaintext: Uint8Array | readonly Uint8Array[]): void {
    if (this.closed) return
    const parts = this.encryptor.encryptParts(plaintext)
    this.sentSinceTick = true
    this.p.router.sendParts({ onward: this.p.remoteRoute, return: this.returnRoute, parts, length: partsLength(parts) })
  }

  private applyRefresh(bytes: Uint8Array): void {
    try {
      const fresh = verifyCredentials(this.p.verify, this.peer.identity, decodeCredentialsPayload(bytes))
      const next = { ...this.peer, ...fresh }
      this.p.trustPolicy.check(next)
      this.peer = next
      this.info = this.describePeer()
      this.armExpiry()
      this.p.log.debug({ channel: this.address, peer: this.peer.identifier }, 'peer refreshed its credentials')
    } catch (err) {
      this.p.log.warn({ channel: this.address, peer: this.peer.identifier, err: (err as Error).message }, 'credential refresh rejected')
      this.close(`credential refresh rejected: ${(err as Error).message}`)
    }
  }

  /** What every delivered message says about its sender: built once per peer state, not per message. */
  private describePeer(): SecureChannelInfo {
    return { identifier: this.peer.identifier, attributes: this.peer.attributes, hasCredential: this.peer.credentials.length > 0, channel: this.address }
  }

  private keepAlive(): void {
    if (this.closed) return
    if (++this.silentTicks >= CHANNEL_SILENT_TICKS) {
      const tickMs = this.p.keepAliveTickMs ?? CHANNEL_TICK_MS
      this.p.log.warn({ channel: this.address, peer: this.peer.identifier }, 'the peer of a secure channel went silent')
      this.close(`the peer was silent for ${(CHANNEL_SILENT_TICKS - 1) * tickMs} ms or more`)
      return
    }
    this.quietTicks = this.sentSinceTick ? 0 : this.quietTicks + 1
    if (this.quietTicks >= CHANNEL_QUIET_TICKS) {
      this.sendControl(encodeControl(Kind.Ping))
      // The ping counts from this tick: an idle side pings every CHANNEL_QUIET_TICKS ticks.
      this.quietTicks = 0
    }
    this.sentSinceTick = false
  }

  /** A channel lives no longer than the credentials that admitted its peer, unless refreshed. */
  private armExpiry(): void {
    clearTimeout(this.expiryTimer)
    if (this.peer.credentials.length === 0) return
    const expiresAt = Math.min(...this.peer.credentials.map((c) => c.expiresAt))
    const delayMs = Math.max(0, (expiresAt - this.p.verify.now()) * 1000 + EXPIRY_GRACE_MS)
    this.expiryTimer = setTimeout(() => this.close('peer credential expired without refresh'), Math.min(delayMs, 2 ** 31 - 1))
    this.expiryTimer.unref()
  }
}
