import type { Logger } from 'pino'
import type { Crypto } from '../crypto/crypto.js'
import { nodeCrypto } from '../crypto/node-crypto.js'
import type { CredentialAndPurposeKey } from '../identity/credential.js'
import type { Identity } from '../identity/identity.js'
import type { LocalIdentity } from '../identity/local-identity.js'
import { nowSeconds } from '../identity/signed-data.js'
import { LOCAL, local, tcp, type Address, type Route } from '../routing/address.js'
import type { LocalMessage, SecureChannelInfo } from '../routing/message.js'
import { isForwarderAddress } from '../relay/relay-service.js'
import { parseMultiaddr, type Segment } from '../routing/multiaddr.js'
import { Router } from '../routing/router.js'
import { request } from '../routing/request.js'
import { TcpTransport } from '../transport/tcp-transport.js'
import { formatHostPort, type HostPort } from '../transport/host-port.js'
import type { ChannelContext } from '../channel/context.js'
import { createSecureChannel } from '../channel/initiator.js'
import { SecureChannelListener } from '../channel/listener.js'
import type { SecureChannel } from '../channel/secure-channel.js'
import { trustAll, trustEveryone, trustIdentifier, type TrustPolicy } from '../channel/trust-policy.js'
import { startEcho } from '../services/echo.js'
import type { AccessControl } from '../routing/router.js'
import type { Project } from '../authority/project.js'
import { UntrustedPeerError } from '../channel/errors.js'

export const DEFAULT_LISTENER = 'api'
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

export interface NodeOptions {
  name: string
  identity: LocalIdentity
  log: Logger
  crypto?: Crypto
  tcpListenerAddress?: string
  /** Trust policy of the `api` secure channel listener. */
  listenerTrust?: TrustPolicy
  authorities?: () => readonly Identity[]
  credentials?: () => readonly CredentialAndPurposeKey[]
  /** Resolves `/node/NAME` to a TCP address. */
  resolveNode?: (name: string) => string
  /** The project this node belongs to: `/project/NAME` routes go to its node through a secure channel. */
  project?: Project
  /** Who may use the `echo` service (default: anyone). */
  echoAccess?: AccessControl
  signal?: AbortSignal
}

export interface ChannelOptions {
  authorized?: string
  trustPolicy?: TrustPolicy
  signal?: AbortSignal
  timeoutMs?: number
}

/** A Portico process: router, TCP transport, secure channel listener, services. */
export class PorticoNode {
  readonly router: Router
  readonly tcp: TcpTransport
  readonly channels = new Map<string, SecureChannel>()
  /** Channels by the TCP connection worker that carries them: who a peer on that connection is. */
  private readonly carried = new Map<string, Set<SecureChannel>>()
  /**
   * Channels routed plainly over a connection that another channel of ours authenticates to the
   * project node (the relay's fast path), and that channel: they live and die together.
   */
  private readonly anchors = new Map<string, SecureChannel>()
  readonly context: ChannelContext
  private listener: SecureChannelListener | undefined
  private listening: HostPort | undefined
  /** Identities the authority revoked: refused at handshake, their open channels closed. */
  readonly revoked = new Set<string>()
  private readonly revocationListeners: ((identifier: string) => void)[] = []
  private readonly notRevoked: TrustPolicy = {
    description: 'not revoked',
    check: (peer) => {
      if (this.revoked.has(peer.identifier)) throw new UntrustedPeerError(`identity ${peer.identifier} has been revoked by the project authority`)
    }
  }

  private constructor(readonly options: NodeOptions) {
    const log = options.log
    this.router = new Router(log.child({ scope: 'router' }))
    this.tcp = new TcpTransport(this.router, log.child({ scope: 'tcp' }))
    this.context = {
      router: this.router,
      log: log.child({ scope: 'secure-channel' }),
      crypto: options.crypto ?? nodeCrypto,
      identity: options.identity,
      authorities: options.authorities ?? (() => []),
      credentials: options.credentials ?? (() => []),
      now: nowSeconds,
      onChannel: (c) => this.track(c)
    }
    // A channel cannot outlive what carries it: closing at once lets relays and inlets rebuild at once.
    this.tcp.onConnectionClosed((info, reason) => {
      // Channels we opened name the peer (`tcp`); channels opened to us name the connection worker.
      if (info.direction === 'out') this.closeChannelsVia(tcp(info.peer), `connection lost (${reason})`)
      this.closeChannelsVia(local(info.address), `connection lost (${reason})`)
    })
    // Plain messages may go on to another peer only from a connection that carries a channel with
    // a project credential: a relay's fast path, and answers coming back along it.
    this.tcp.setForwardingPolicy((from) => this.hasCredentialedPeer(from))
  }

  /** Checked for every message forwarded between connections, so it allocates nothing. */
  private hasCredentialedPeer(connection: string): boolean {
    for (const c of this.carried.get(connection) ?? []) if (!c.isClosed && c.senderInfo.hasCredential) return true
    return false
  }

  /** The verified peers of the channels carried by connection worker `address`. */
  private peersOnConnection(address: string): SecureChannelInfo[] {
    return [...(this.carried.get(address) ?? [])].filter((c) => !c.isClosed).map((c) => c.senderInfo)
  }

  /** Who sent `msg`: its channel's peer, or for a plain message the peers of the connection it came by. */
  sendersOf(msg: LocalMessage): SecureChannelInfo[] {
    if (msg.secureChannel !== undefined) return [msg.secureChannel]
    const from = msg.return[0]
    return from?.type === LOCAL ? this.peersOnConnection(from.value) : []
  }

  /** The connection worker a channel runs directly over, if it runs over one of our TCP connections. */
  carrierOf(channelAddress: string): Address | undefined {
    const channel = this.channels.get(channelAddress)
    return channel === undefined ? undefined : this.connectionHop(channel)
  }

  private connectionHop(channel: SecureChannel): Address | undefined {
    const hop = channel.remoteRoute[0]
    return hop?.type === LOCAL && this.tcp.isConnection(hop.value) ? hop : undefined
  }

  static async start(options: NodeOptions): Promise<PorticoNode> {
    const node = new PorticoNode(options)
    node.listener = new SecureChannelListener(node.context, DEFAULT_LISTENER, { trustPolicy: trustAll(node.notRevoked, options.listenerTrust ?? trustEveryone) })
    startEcho(node.router, 'echo', options.echoAccess)
    if (options.tcpListenerAddress !== undefined) {
      node.listening = await node.tcp.listen(options.tcpListenerAddress, options.signal)
    }
    options.log.info({ identifier: options.identity.identifier, tcp: node.listenAddress }, 'node started')
    return node
  }

  get name(): string {
    return this.options.name
  }

  get listenAddress(): string | undefined {
    return this.listening === undefined ? undefined : formatHostPort(this.listening)
  }

  get identifier(): string {
    return this.options.identity.identifier
  }

  async createSecureChannel(route: Route, options: ChannelOptions = {}): Promise<SecureChannel> {
    const trustPolicy = options.trustPolicy ?? (options.authorized !== undefined ? trustIdentifier(options.authorized) : trustEveryone)
    return createSecureChannel(this.context, route, {
      trustPolicy: trustAll(this.notRevoked, trustPolicy),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {})
    })
  }

  /**
   * Turns a written route into addresses, opening the secure channels it names on the way:
   * `/ip4/h/tcp/p/secure/api/service/echo` opens a channel to `api` at h:p and goes through it.
   */
  async resolve(multiaddr: string | readonly Segment[], options: ChannelOptions = {}): Promise<Route> {
    const segments = typeof multiaddr === 'string' ? parseMultiaddr(multiaddr) : multiaddr
    let route: Route = []
    let projectChannel: SecureChannel | undefined
    for (const s of segments) {
      switch (s.kind) {
        case 'tcp':
          route = [...route, tcp(s.value)]
          break
        case 'node': {
          if (this.options.resolveNode === undefined) throw new Error('this node cannot resolve /node routes')
          route = [...route, tcp(this.options.resolveNode(s.value))]
          break
        }
        case 'secure': {
          const plain = projectChannel === undefined ? undefined : plainRelayRoute(route, projectChannel, this.connectionHop(projectChannel))
          const channel = await this.createSecureChannel([...(plain ?? route), local(s.value)], options)
          if (plain !== undefined && projectChannel !== undefined) this.anchor(channel, projectChannel)
          route = [local(channel.address)]
          projectChannel = undefined
          break
        }
        case 'project': {
          const project = this.options.project
          if (project === undefined || (s.value !== project.name && s.value !== 'default')) {
            throw new Error(`this node is not in project '${s.value}' (enroll with a ticket first)`)
          }
          const channel = await this.createSecureChannel([...(await this.resolve(project.route, options)), local(DEFAULT_LISTENER)], {
            ...options, trustPolicy: trustIdentifier(project.authority.identifier)
          })
          route = [local(channel.address)]
          projectChannel = channel
          break
        }
        default:
          route = [...route, local(s.value)]
      }
    }
    return route
  }

  async send(route: Route, payload: Uint8Array, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const reply = await request(this.router, route, payload, {
      timeoutMs: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      ...(options.signal !== undefined ? { signal: options.signal } : {})
    })
    return reply.payload
  }

  listChannels(): ReturnType<SecureChannel['summary']>[] {
    return [...this.channels.values()].map((c) => c.summary())
  }

  /** Refuses `identifier` from now on and closes its channels. */
  revoke(identifier: string): number {
    this.revoked.add(identifier)
    for (const l of this.revocationListeners) l(identifier)
    return this.closeChannelsOf(identifier, 'identity revoked by the project authority')
  }

  /** Told of every identity the authority revokes (the lease manager revokes its leases). */
  onRevoke(listener: (identifier: string) => void): void {
    this.revocationListeners.push(listener)
  }

  unrevoke(identifier: string): void {
    this.revoked.delete(identifier)
  }

  /** Closes every channel whose peer is `identifier`: used when a member is revoked. */
  closeChannelsOf(identifier: string, reason: string): number {
    let n = 0
    for (const c of this.channels.values()) {
      if (c.peer.identifier === identifier) {
        c.close(reason)
        n++
      }
    }
    return n
  }

  refreshCredentials(): void {
    const creds = this.context.credentials()
    for (const c of this.channels.values()) c.refreshCredentials(creds)
  }

  async stop(): Promise<void> {
    this.listener?.stop()
    for (const c of this.channels.values()) c.close('node stopping')
    await this.tcp.close()
    this.options.log.info('node stopped')
  }

  private track(channel: SecureChannel): void {
    this.channels.set(channel.address, channel)
    const carrier = this.connectionHop(channel)?.value
    if (carrier !== undefined) {
      const set = this.carried.get(carrier) ?? new Set()
      set.add(channel)
      this.carried.set(carrier, set)
    }
    channel.onClose((reason) => {
      this.channels.delete(channel.address)
      this.anchors.delete(channel.address)
      if (carrier !== undefined) {
        const set = this.carried.get(carrier)
        set?.delete(channel)
        if (set?.size === 0) this.carried.delete(carrier)
      }
      this.closeChannelsVia(local(channel.address), `outer secure channel closed (${reason})`)
    })
  }

  /** `inner` runs plainly over the connection `outer` authenticates: it cannot outlive `outer`. */
  private anchor(inner: SecureChannel, outer: SecureChannel): void {
    this.anchors.set(inner.address, outer)
    outer.onClose((reason) => inner.close(`the project channel that admitted it to the relay closed (${reason})`))
  }

  /**
   * Closes a channel and the channels it was built on that belong to it alone (a channel to the
   * project opened just to reach a relay), so a rebuilt route leaves nothing behind.
   */
  closeChain(address: string, reason: string): void {
    let next: string | undefined = address
    while (next !== undefined) {
      const c = this.channels.get(next)
      if (c === undefined) return
      const anchor = this.anchors.get(next)
      const hop = anchor === undefined ? c.remoteRoute[0] : local(anchor.address)
      c.close(reason)
      next = hop?.type === LOCAL && this.channels.has(hop.value) && !this.inUse(hop.value) ? hop.value : undefined
    }
  }

  /** Does another channel run over, or lean on, the channel at `address`? */
  private inUse(address: string): boolean {
    for (const o of this.channels.values()) if (o.remoteRoute[0]?.value === address || this.anchors.get(o.address)?.address === address) return true
    return false
  }

  private closeChannelsVia(first: Address, reason: string): void {
    for (const c of [...this.channels.values()]) {
      const hop = c.remoteRoute[0]
      if (hop !== undefined && hop.type === first.type && hop.value === first.value) c.close(reason, false)
    }
  }
}

/**
 * The relay's fast path. An inner channel to a relayed node is already end-to-end encrypted, so
 * sending it through our channel to the project as well would encrypt every byte twice more (here
 * and again at the relay). Instead it goes plainly over the TCP connection that our project
 * channel runs on; the relay admits it because that connection carries our verified credential.
 */
function plainRelayRoute(route: Route, projectChannel: SecureChannel, carrier: Address | undefined): Route | undefined {
  const [first, forwarder] = route
  if (carrier === undefined || projectChannel.remoteRoute.length !== 2) return undefined
  if (first?.type !== LOCAL || first.value !== projectChannel.address) return undefined
  if (forwarder?.type !== LOCAL || !isForwarderAddress(forwarder.value)) return undefined
  return [carrier, ...route.slice(1)]
}
