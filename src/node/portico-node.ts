import type { Logger } from 'pino'
import type { Crypto } from '../crypto/crypto.js'
import { nodeCrypto } from '../crypto/node-crypto.js'
import type { CredentialAndPurposeKey } from '../identity/credential.js'
import type { Identity } from '../identity/identity.js'
import type { LocalIdentity } from '../identity/local-identity.js'
import { nowSeconds } from '../identity/signed-data.js'
import { LOCAL, local, tcp, type Address, type Route } from '../routing/address.js'
import type { LocalMessage, SecureChannelInfo } from '../routing/message.js'
import { ChannelRegistry } from './channel-registry.js'
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
import { projectRoutes, type Project } from '../authority/project.js'
import { kindOf, PorticoError, type ErrorKind } from '../util/errors.js'
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
  /** The secure channels' keep-alive tick (CHANNEL_TICK_MS unless a test shortens it). */
  keepAliveTickMs?: number
  signal?: AbortSignal
}

export interface ChannelOptions {
  authorized?: string
  trustPolicy?: TrustPolicy
  signal?: AbortSignal
  timeoutMs?: number
  /** Told of each secure channel `resolve` starts to open, so a failure can be put down to its hop. */
  onStep?: (step: RouteStep) => void
}

/** A secure channel `resolve` opens: to the project node, or to listener `value` along the route so far. */
export type RouteStep = { kind: 'project'; value: string } | { kind: 'secure'; value: string; afterProject: boolean }

/** No replica of the project could be reached. */
export class ProjectUnreachableError extends PorticoError {
  override readonly code: string = 'project-unreachable'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'ProjectUnreachableError'
}

/** A Portico process: router, TCP transport, secure channel listener, services. */
export class PorticoNode {
  readonly router: Router
  readonly tcp: TcpTransport
  private readonly registry: ChannelRegistry
  private readonly handshakes = new Set<{ hop: Address | undefined; lost: AbortController }>()
  readonly context: ChannelContext
  private listener: SecureChannelListener | undefined
  private listening: HostPort | undefined
  /** Identities the authority revoked: refused at handshake, their open channels closed. */
  readonly revoked = new Set<string>()
  /** The replica of the project the last channel to it reached; each node starts at one of them at random, to spread the load. */
  private replica = Math.floor(Math.random() * 1024)
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
    this.registry = new ChannelRegistry((address) => this.tcp.isConnection(address))
    this.context = {
      router: this.router,
      log: log.child({ scope: 'secure-channel' }),
      crypto: options.crypto ?? nodeCrypto,
      identity: options.identity,
      authorities: options.authorities ?? (() => []),
      credentials: options.credentials ?? (() => []),
      now: nowSeconds,
      ...(options.keepAliveTickMs !== undefined ? { keepAliveTickMs: options.keepAliveTickMs } : {}),
      onChannel: (c) => {
        this.registry.track(c)
        c.onClose((reason) => this.failHandshakesVia(local(c.address), `the channel it ran over closed (${reason})`))
      }
    }
    // A channel cannot outlive what carries it: closing at once lets relays and inlets rebuild at once.
    this.tcp.onConnectionClosed((info, reason) => {
      // Channels we opened name the peer (`tcp`); channels opened to us name the connection worker.
      if (info.direction === 'out') {
        this.registry.closeVia(tcp(info.peer), `connection lost (${reason})`)
        this.failHandshakesVia(tcp(info.peer), `connection to ${info.peer} lost (${reason})`)
      }
      this.registry.closeVia(local(info.address), `connection lost (${reason})`)
    })
    // Plain messages may go on to another peer only from a connection that carries a channel with
    // a project credential: a relay's fast path, and answers coming back along it.
    this.tcp.setForwardingPolicy((from) => this.registry.hasCredentialedPeer(from))
  }

  /** The open secure channels by address. */
  get channels(): ReadonlyMap<string, SecureChannel> {
    return this.registry.channels
  }

  /** Who sent `msg`: its channel's peer, or for a plain message the peers of the connection it came by. */
  sendersOf(msg: Omit<LocalMessage, 'payload'>): SecureChannelInfo[] {
    if (msg.secureChannel !== undefined) return [msg.secureChannel]
    const from = msg.return[0]
    return from?.type === LOCAL ? this.registry.peersOnConnection(from.value) : []
  }

  /** The connection worker a channel runs directly over, if it runs over one of our TCP connections. */
  carrierOf(channelAddress: string): Address | undefined {
    const channel = this.channels.get(channelAddress)
    return channel === undefined ? undefined : this.registry.connectionHop(channel)
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
    // A handshake whose first hop (a connection, a channel) goes away fails at once, not at its time-out.
    const lost = new AbortController()
    const pending = { hop: route[0], lost }
    this.handshakes.add(pending)
    try {
      return await createSecureChannel(this.context, route, {
        trustPolicy: trustAll(this.notRevoked, trustPolicy),
        signal: options.signal === undefined ? lost.signal : AbortSignal.any([options.signal, lost.signal]),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {})
      })
    } finally {
      this.handshakes.delete(pending)
    }
  }

  /** Fails the handshakes in progress whose first hop is `hop`. */
  private failHandshakesVia(hop: Address, reason: string): void {
    for (const h of this.handshakes) {
      if (h.hop?.type === hop.type && h.hop.value === hop.value) h.lost.abort(new Error(reason))
    }
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
          options.onStep?.({ kind: 'secure', value: s.value, afterProject: projectChannel !== undefined })
          const plain = projectChannel === undefined ? undefined : plainRelayRoute(route, projectChannel, this.registry.connectionHop(projectChannel))
          const channel = await this.createSecureChannel([...(plain ?? route), local(s.value)], options)
          if (plain !== undefined && projectChannel !== undefined) this.registry.anchor(channel, projectChannel)
          route = [local(channel.address)]
          projectChannel = undefined
          break
        }
        case 'project': {
          const project = this.options.project
          options.onStep?.({ kind: 'project', value: s.value })
          if (project === undefined || (s.value !== project.name && s.value !== 'default')) {
            throw new Error(`this node is not in project '${s.value}' (enroll with a ticket first)`)
          }
          const channel = await this.projectChannel(project, options)
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

  /**
   * A secure channel to the project: to the replica that answered last, else to the next one in
   * turn. A replica that refuses this node ends the search (every replica would); one that cannot
   * be reached is passed over.
   */
  private async projectChannel(project: Project, options: ChannelOptions): Promise<SecureChannel> {
    const routes = projectRoutes(project)
    const failures: string[] = []
    let last: unknown
    for (let i = 0; i < routes.length; i++) {
      const index = (this.replica + i) % routes.length
      const route = routes[index] ?? project.route
      try {
        const channel = await this.replicaChannel(project, route, options)
        this.replica = index
        return channel
      } catch (err) {
        if (routes.length === 1 || options.signal?.aborted === true || kindOf(err) === 'refused') throw err
        last = err
        failures.push(`${route}: ${(err as Error).message}`)
      }
    }
    throw new ProjectUnreachableError(`no replica of project ${project.name} answered (${failures.join('; ')})`, { cause: last })
  }

  /** A secure channel to the replica of the project at `route`, whose peer must be the project's authority. */
  async replicaChannel(project: Project, route: string, options: ChannelOptions = {}): Promise<SecureChannel> {
    return this.createSecureChannel([...(await this.resolve(route, options)), local(DEFAULT_LISTENER)], {
      ...options, trustPolicy: trustIdentifier(project.authority.identifier)
    })
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
    return this.registry.closeChannelsOf(identifier, reason)
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

  /** Closes a channel and those under it that only it used (see ChannelRegistry.closeChain). */
  closeChain(address: string, reason: string): void {
    this.registry.closeChain(address, reason)
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
