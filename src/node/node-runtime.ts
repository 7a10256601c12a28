import type { Server } from 'node:http'
import { parseHostPort } from '../transport/host-port.js'
import type { Logger } from 'pino'
import { AuthorityService } from '../authority/authority-service.js'
import type { Project } from '../authority/project.js'
import { decodeTicket } from '../authority/ticket.js'
import { trustAuthority, trustEveryone } from '../channel/trust-policy.js'
import type { Crypto } from '../crypto/crypto.js'
import { importIdentity } from '../identity/identity.js'
import type { LocalIdentity } from '../identity/local-identity.js'
import { nowSeconds } from '../identity/signed-data.js'
import type { Store } from '../store/store.js'
import type { NodeConfig } from './config.js'
import type { Home } from './home.js'
import { Membership } from './membership.js'
import { ProjectReplicas } from './project-replicas.js'
import { NodeMetrics } from './metrics.js'
import { PorticoNode } from './portico-node.js'
import { ResourcePolicies } from './resource-policies.js'
import { DEFAULT_STATUS_HOST, startStatusServer } from './status-server.js'
import { Portals } from './portals.js'
import { RelayService } from '../relay/relay-service.js'
import type { AccessControl } from '../routing/router.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'

export interface AuthorityMode {
  projectName: string
  /** The identity that created the project: its first admin. A replica has none: the store holds the admins. */
  admin?: string
  /** Another replica of a project whose store (PostgreSQL) already serves it. */
  replica?: boolean
  /** The route other nodes use to reach this node, when it differs from the listener address. */
  publicRoute?: string
  credentialTtlSeconds?: number
}

export interface RuntimeOptions {
  name: string
  home: Home
  crypto: Crypto
  identity: LocalIdentity
  config: NodeConfig
  store: Store
  log: Logger
  signal: AbortSignal
  authority?: AuthorityMode
}

export class EnrollmentError extends PorticoError {
  override readonly code: string = 'enrollment-failed'
  override readonly kind: ErrorKind = 'refused'
  override name = 'EnrollmentError'
}

function tcpRoute(hostPort: string): string {
  const { host, port } = parseHostPort(hostPort)
  return `/${host.includes(':') ? 'ip6' : /^[\d.]+$/.test(host) ? 'ip4' : 'dnsaddr'}/${host}/tcp/${port}`
}

/** One node's services wired together from its config: project membership, authority, policies, status. */
export class NodeRuntime {
  node!: PorticoNode
  membership: Membership | undefined
  authority: AuthorityService | undefined
  project: Project | undefined
  readonly policies: ResourcePolicies
  metrics!: NodeMetrics
  portals!: Portals
  relayService: RelayService | undefined
  private status: Server | undefined
  private readonly started = Date.now()
  /** Stops background loops (credential refresh, revocation polling) when the node stops. */
  private readonly lifetime = new AbortController()

  private constructor(readonly o: RuntimeOptions) {
    this.policies = new ResourcePolicies(o.store.policies, o.log.child({ scope: 'policy' }), (id) => this.node.revoked.has(id))
  }

  static async start(o: RuntimeOptions): Promise<NodeRuntime> {
    const rt = new NodeRuntime(o)
    await rt.policies.load()
    for (const [resource, expression] of Object.entries(o.config.policies ?? {})) await rt.policies.set(resource, expression, nowSeconds())
    const { config, log, crypto, home } = o
    const ticket = config.ticket !== undefined ? decodeTicket(config.ticket) : undefined
    if (ticket !== undefined) {
      const authority = importIdentity(crypto, ticket.authority)
      home.saveProject({ name: ticket.project, authority, route: ticket.route, ...(ticket.replicas !== undefined ? { replicas: ticket.replicas } : {}) })
    }
    rt.project = o.authority !== undefined ? undefined : home.project(crypto, ticket?.project ?? config.project)
    if (rt.project !== undefined) rt.membership = new Membership(rt.project, crypto, log, nowSeconds)
    const authorities = o.authority !== undefined ? [o.identity.identity] : rt.project !== undefined ? [rt.project.authority] : []
    rt.node = await PorticoNode.start({
      name: o.name, identity: o.identity, log, crypto,
      ...(config['tcp-listener-address'] !== undefined ? { tcpListenerAddress: config['tcp-listener-address'] } : {}),
      // Strangers must reach the authority to enroll; it checks every request itself.
      listenerTrust: o.authority === undefined && rt.project !== undefined ? trustAuthority(rt.project.authority.identifier) : trustEveryone,
      authorities: () => authorities,
      ...(rt.membership !== undefined ? { credentials: rt.membership.credentials.credentials } : {}),
      ...(rt.project !== undefined ? { project: rt.project } : {}),
      ...(authorities.length > 0 ? { echoAccess: rt.policies.gate('echo', 'service') } : {}),
      resolveNode: (n) => home.nodeAddress(n), signal: o.signal
    })
    rt.metrics = new NodeMetrics(rt.node, rt.membership)
    rt.policies.onDenied = (resource) => rt.metrics.accessDenied.inc({ resource })
    try {
      if (o.authority !== undefined) await rt.startAuthority(o.authority)
      if (rt.membership !== undefined && rt.project !== undefined) {
        rt.membership.attach(rt.node)
        if (ticket !== undefined && !home.isEnrolled(ticket.project, o.identity.identifier, ticket.code)) {
          try {
            const member = await rt.membership.client.enroll(ticket.code, o.signal)
            log.info({ project: ticket.project, attributes: member.attributes }, 'enrolled with ticket')
          } catch (err) {
            throw new EnrollmentError(`enrollment in project ${ticket.project} failed: ${(err as Error).message}`, { cause: err })
          }
          home.markEnrolled(ticket.project, o.identity.identifier, ticket.code)
        }
      }
      // Credentials arrive in the background: /readyz says when; traffic that needs them waits for them.
      const credential = rt.membership?.start(AbortSignal.any([o.signal, rt.lifetime.signal]))
      credential?.catch(() => undefined)
      rt.portals = new Portals({
        node: rt.node, policies: rt.policies, log: log.child({ scope: 'portal' }), project: rt.project, signal: AbortSignal.any([o.signal, rt.lifetime.signal]), leases: o.store.leases, sharedStore: o.store.kind === 'postgres',
        ...(credential !== undefined ? { credential } : {})
      })
      rt.metrics.leaseManagers = rt.portals.leaseManagers
      rt.metrics.influxdbInlets = rt.portals.influxdbInlets
      for (const r of config.relay ?? []) {
        if (typeof r === 'string') rt.portals.addRelay(r)
        else rt.portals.addRelay(r.name, undefined, r.shared === true)
      }
      for (const c of config['tcp-outlet'] ?? []) await rt.portals.addOutlet(c)
      for (const c of config['tcp-inlet'] ?? []) await rt.portals.addInlet(c)
      for (const c of config['influxdb-outlet'] ?? []) await rt.portals.addInfluxdbOutlet(c)
      for (const c of config['influxdb-inlet'] ?? []) await rt.portals.addInfluxdbInlet(c)
      const port = config['http-server-port']
      if (port !== undefined) rt.status = await startStatusServer(rt, port, config['http-server-host'] ?? DEFAULT_STATUS_HOST, log.child({ scope: 'status' }))
    } catch (err) {
      await rt.stop()
      throw err
    }
    return rt
  }

  private async startAuthority(mode: AuthorityMode): Promise<void> {
    const listen = this.node.listenAddress
    const route = mode.publicRoute ?? (listen !== undefined ? tcpRoute(listen) : undefined)
    if (route === undefined) throw new Error('an authority node needs a TCP listener address')
    const replicas = await ProjectReplicas.start({
      store: this.o.store, route, log: this.o.log.child({ scope: 'replicas' }), now: nowSeconds,
      revoked: this.node.revoked, revoke: (id) => this.node.revoke(id), unrevoke: (id) => this.node.unrevoke(id),
      onRoutes: (routes) => {
        if (this.project === undefined) return
        this.project = { ...this.project, replicas: routes }
        this.o.home.saveProject(this.project, true)
      }
    }, { name: mode.projectName, authority: this.o.identity.identifier, replica: mode.replica === true }, AbortSignal.any([this.o.signal, this.lifetime.signal]))
    this.authority = new AuthorityService({
      identity: this.o.identity, crypto: this.o.crypto, store: this.o.store, project: { name: mode.projectName, route, replicas: () => replicas.routes },
      log: this.o.log.child({ scope: 'authority' }), now: nowSeconds,
      ...(mode.credentialTtlSeconds !== undefined ? { credentialTtlSeconds: mode.credentialTtlSeconds } : {}),
      peerOf: (channel) => this.node.channels.get(channel)?.peer.identity,
      onRevoked: (id) => this.node.revoke(id),
      onMember: (id) => this.node.unrevoke(id),
      status: () => {
        const channels: Record<string, number> = {}
        for (const c of this.node.listChannels()) channels[c.peer] = (channels[c.peer] ?? 0) + 1
        return { replicas: replicas.routes, relays: this.relayService?.list() ?? [], channels }
      }
    })
    if (mode.admin !== undefined) await this.authority.bootstrap(mode.admin)
    for (const r of await this.o.store.revocations.list()) this.node.revoked.add(r.identifier)
    this.authority.start(this.node.router)
    this.relayService = new RelayService({
      router: this.node.router, log: this.o.log.child({ scope: 'relay' }), access: this.relayAccess(),
      onChannelClose: (address, fn) => this.node.channels.get(address)?.onClose(fn),
      carrierOf: (address) => this.node.carrierOf(address),
      onChange: (change) => this.metrics.relayChanges.inc({ change })
    })
    this.relayService.start()
    this.project = { name: mode.projectName, authority: this.o.identity.identity, route, ...(replicas.routes.length > 1 ? { replicas: replicas.routes } : {}) }
    this.o.home.saveProject(this.project, true)
  }

  /**
   * The relay's gate. A message out of a secure channel is judged by that channel's peer; a plain
   * one (the relay's fast path) by the verified peers of the connection it came by, any of whom
   * may admit it, since they share that connection.
   */
  private relayAccess(): AccessControl {
    const gate = this.policies.gate('relay', 'relay')
    return (m) => {
      if (m.secureChannel !== undefined) return gate(m)
      return this.node.sendersOf(m).some((p) => this.policies.evaluate('relay', 'relay', p).allowed) || gate(m)
    }
  }

  get httpServerAddress(): string | undefined {
    const a = this.status?.address()
    return a === undefined || a === null || typeof a === 'string' ? undefined : `${a.address}:${a.port}`
  }

  notReady(): string[] {
    const reasons: string[] = []
    if (this.o.config['tcp-listener-address'] !== undefined && this.node.listenAddress === undefined) reasons.push('TCP listener not open')
    if (this.membership !== undefined && !this.membership.ready) reasons.push('no valid credential from the project authority yet')
    reasons.push(...this.portals.notReady())
    return reasons
  }

  show(): Record<string, unknown> {
    const m = this.membership
    return {
      name: this.node.name, identifier: this.node.identifier, tcpListenerAddress: this.node.listenAddress ?? null,
      httpServerAddress: this.httpServerAddress ?? null, uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      project: this.project === undefined ? null : { name: this.project.name, route: this.project.route, authority: this.project.authority.identifier, ...(this.project.replicas !== undefined ? { replicas: this.project.replicas } : {}) },
      authority: this.authority !== undefined,
      credential: m === undefined ? null : { attributes: m.credentials.attributes ?? null, expiresAt: m.credentials.expiresAt === undefined ? null : new Date(m.credentials.expiresAt * 1000).toISOString() },
      store: this.o.store.kind,
      policies: this.policies.list(),
      ...this.portals.show(),
      ...(this.relayService !== undefined ? { relayService: this.relayService.list() } : {}),
      revoked: [...this.node.revoked],
      secureChannels: this.node.listChannels(), workers: this.node.router.addresses().sort(), connections: this.node.tcp.list()
    }
  }

  get registry(): NodeMetrics['registry'] {
    return this.metrics.registry
  }

  async stop(): Promise<void> {
    this.lifetime.abort()
    this.status?.close()
    await this.portals?.stop()
    await this.node.stop()
  }
}
