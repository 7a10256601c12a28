import { formatTarget, outletTarget, PortalError, PortalNotFoundError } from './inlet-route.js'
import { local, type Route } from '../routing/address.js'
import { projectRoutes } from '../authority/project.js'
import { nowSeconds } from '../identity/signed-data.js'
import { UntrustedPeerError } from '../channel/errors.js'
import type { Policy } from '../policy/policy.js'
import { TcpInlet } from '../portal/tcp-inlet.js'
import { TcpOutlet } from '../portal/tcp-outlet.js'
import { RelayRegistration } from '../relay/relay-registration.js'
import type { InfluxdbInletConfig, InfluxdbOutletConfig, TcpInletConfig, TcpOutletConfig } from './config.js'
import type { LeaseManager } from '../influxdb/leases/lease-manager.js'
import { readCa, type PortalsOptions } from './portals-options.js'
import { InfluxdbPortals } from './influxdb-portals.js'
import type { TrustPolicy } from '../channel/trust-policy.js'
import { OutletChannel } from './outlet-channel.js'

export type { PortalsOptions } from './portals-options.js'

export const PORTAL_KINDS = ['tcp-outlet', 'tcp-inlet', 'influxdb-outlet', 'influxdb-inlet', 'relay'] as const
export type PortalKind = typeof PORTAL_KINDS[number]
/** Where `show` lists each kind. */
const LISTED: Readonly<Record<PortalKind, string>> = {
  'tcp-outlet': 'tcpOutlets', 'tcp-inlet': 'tcpInlets', 'influxdb-outlet': 'influxdbOutlets', 'influxdb-inlet': 'influxdbInlets', relay: 'relays'
}

/** The node's TCP outlets, inlets and relay registrations, from config or the CLI. */
export class Portals {
  readonly outlets = new Map<string, TcpOutlet>()
  readonly inlets = new Map<string, { inlet: TcpInlet; route: string; channel?: OutletChannel; life?: AbortController }>()
  /** A relay name's registrations: one, or one at each replica of the project. */
  readonly relays = new Map<string, RelayRegistration[]>()
  private readonly influxdb: InfluxdbPortals

  constructor(private readonly o: PortalsOptions) {
    this.influxdb = new InfluxdbPortals(o, {
      addTcpOutlet: (c, targetName) => this.addOutlet(c, targetName),
      outletTrust: (type, from, allow) => this.outletTrust(type, from, allow),
      addInternalInlet: (bound, entry) => this.inlets.set(`internal:${bound}`, entry),
      removeInternalInlet: async (bound) => {
        const entry = this.inlets.get(`internal:${bound}`)
        this.inlets.delete(`internal:${bound}`)
        await entry?.inlet.stop()
      },
      removeTcpOutlet: (name) => {
        this.outlets.get(name)?.stop()
        this.outlets.delete(name)
      }
    })
  }

  async addOutlet(c: TcpOutletConfig, targetName?: string): Promise<Record<string, unknown>> {
    if (this.outlets.has(c.from)) throw new PortalError(`an outlet named '${c.from}' already exists`)
    if (c.allow !== undefined) await this.o.policies.set(c.from, c.allow, nowSeconds())
    const ca = readCa(c['tls-ca-file'])
    const outlet = new TcpOutlet({
      router: this.o.node.router, log: this.o.log.child({ outlet: c.from }), address: c.from, to: c.to,
      ...(c.tls ? { tls: { ...(ca !== undefined ? { ca } : {}), ...(c['tls-server-name'] !== undefined ? { servername: c['tls-server-name'] } : {}) } } : {}),
      decide: (msg) => this.o.policies.decide(c.from, 'tcp-outlet', msg),
      ...(targetName !== undefined ? { targetName } : {}),
      ...(c['max-connections'] !== undefined ? { maxConnections: c['max-connections'] } : {})
    })
    outlet.start()
    this.outlets.set(c.from, outlet)
    return outlet.summary()
  }

  /** Reasons the portals cannot serve yet: relays not registered, inlets without a route to their outlet, influxdb outlets and inlets not ready. */
  notReady(): string[] {
    const reasons: string[] = []
    // One replica that holds the relay is enough for the inlets to reach this node.
    for (const [name, rs] of this.relays) if (!rs.some((r) => r.registered)) reasons.push(`relay ${name} not registered`)
    reasons.push(...this.influxdb.notReady())
    for (const [from, i] of this.inlets) {
      const down = from.startsWith('internal:') ? undefined : i.channel?.notOpen()
      if (down !== undefined) reasons.push(`tcp inlet ${from}: ${down}`)
    }
    return reasons
  }

  addInfluxdbOutlet(c: InfluxdbOutletConfig): Promise<Record<string, unknown>> {
    return this.influxdb.addOutlet(c)
  }

  addInfluxdbInlet(c: InfluxdbInletConfig): Promise<Record<string, unknown>> {
    return this.influxdb.addInlet(c)
  }

  get leaseManagers(): ReadonlyMap<string, LeaseManager> {
    return this.influxdb.leaseManagers
  }

  get influxdbInlets(): InfluxdbPortals['influxdbInlets'] {
    return this.influxdb.influxdbInlets
  }

  async addInlet(c: TcpInletConfig): Promise<Record<string, unknown>> {
    const target = outletTarget(c, this.o.project)
    const route = formatTarget(target)
    const log = this.o.log.child({ inlet: c.from })
    const channel = new OutletChannel(this.o.node, target, await this.outletTrust('tcp-inlet', c.from, c.allow), log, this.o.credential)
    const inlet = new TcpInlet({
      router: this.o.node.router, log, from: c.from,
      connect: async (signal) => {
        const r = await channel.get(signal)
        return { route: [...r.route, local(target.outlet)], channel: r.channel }
      },
      isOpen: channel.isOpen, discard: channel.discard, onChannelClose: channel.onChannelClose,
      down: () => channel.down()?.message
    })
    const bound = await inlet.start()
    if (this.inlets.has(bound)) {
      await inlet.stop()
      throw new PortalError(`an inlet already listens on ${bound}`)
    }
    const life = new AbortController()
    this.inlets.set(bound, { inlet, route, channel, life })
    void channel.keepOpen(AbortSignal.any([this.o.signal, life.signal]))
    return { ...inlet.summary(), route }
  }

  /** The inlet's policy on the outlet identity: `allow` if given (and stored), else the resource's policy. */
  async outletTrust(type: string, from: string, allowText: string | undefined): Promise<TrustPolicy> {
    const resource = `${type}:${from}`
    if (allowText !== undefined) await this.o.policies.set(resource, allowText, nowSeconds())
    return policyTrust(() => this.o.policies.get(resource), { id: resource, type })
  }

  /** `shared`: one of several outlet nodes in front of the same service registering one name (each must ask to share it). */
  addRelay(name: string, at?: string, shared = false): Record<string, unknown> {
    if (this.relays.has(name)) throw new PortalError(`relay '${name}' is already being registered`)
    const { node, project } = this.o
    if (at === undefined && project === undefined) throw new PortalError('registering a relay needs a project (enroll first) or --at ROUTE')
    // At every replica of the project: an inlet reaches this node through whichever replica it is connected to.
    const replicas = at === undefined && project !== undefined && projectRoutes(project).length > 1 ? projectRoutes(project) : undefined
    const targets: { replica?: string; connect: (signal: AbortSignal) => Promise<Route> }[] = replicas !== undefined && project !== undefined
      ? replicas.map((route) => ({ replica: route, connect: async (signal) => [local((await node.replicaChannel(project, route, { signal })).address)] }))
      : [{ connect: (signal) => node.resolve(at ?? `/project/${project?.name ?? ''}`, { signal }) }]
    const relays = targets.map((t) => new RelayRegistration({
      router: node.router, log: this.o.log.child({ relay: name, ...(t.replica !== undefined ? { replica: t.replica } : {}) }), name, shared, connect: t.connect,
      ...(t.replica !== undefined ? { replica: t.replica } : {}),
      closed: (address) => new Promise((resolve) => {
        const c = node.channels.get(address)
        if (c === undefined) resolve('channel already closed')
        else c.onClose(resolve)
      }),
      ...(this.o.credential !== undefined ? { credential: this.o.credential } : {})
    }))
    for (const r of relays) r.start(this.o.signal)
    this.relays.set(name, relays)
    return relaySummary(name, relays)
  }

  /** The portals (or relays) of one kind, as `show` lists them. */
  list(kind: PortalKind): Record<string, unknown>[] {
    const all = this.show()
    return (all[LISTED[kind]] as Record<string, unknown>[] | undefined) ?? []
  }

  /**
   * Deletes one portal or relay by its name (an inlet by its listening address): it stops at once,
   * its connections and route close; a relay is given up at the project node; an influxdb outlet's
   * live leases are revoked. Not kept across a restart of the node: its configuration is.
   */
  async remove(kind: PortalKind, name: string): Promise<void> {
    switch (kind) {
      case 'tcp-outlet': {
        const o = this.outlets.get(name)
        if (o === undefined) throw new PortalNotFoundError(`no tcp outlet named '${name}'`)
        if (this.influxdb.leaseManagers.has(name)) throw new PortalError(`tcp outlet '${name}' belongs to influxdb outlet '${name}': delete that`)
        o.stop()
        this.outlets.delete(name)
        return
      }
      case 'tcp-inlet': {
        const i = name.startsWith('internal:') ? undefined : this.inlets.get(name)
        if (i === undefined) throw new PortalNotFoundError(`no tcp inlet listening on '${name}'`)
        this.inlets.delete(name)
        i.life?.abort()
        await i.inlet.stop()
        i.channel?.close('the tcp inlet was deleted')
        return
      }
      case 'relay': {
        const r = this.relays.get(name)
        if (r === undefined) throw new PortalNotFoundError(`no relay named '${name}' is registered by this node`)
        this.relays.delete(name)
        await Promise.all(r.map((one) => one.stop()))
        return
      }
      case 'influxdb-outlet': return this.influxdb.removeOutlet(name)
      case 'influxdb-inlet': return this.influxdb.removeInlet(name)
    }
  }

  show(): Record<string, unknown> {
    return {
      ...this.influxdb.show(),
      tcpOutlets: [...this.outlets.values()].map((o) => o.summary()),
      tcpInlets: [...this.inlets.values()].map(({ inlet, route }) => ({ ...inlet.summary(), route })),
      relays: [...this.relays].map(([name, rs]) => relaySummary(name, rs))
    }
  }

  async stop(): Promise<void> {
    await this.influxdb.stop()
    for (const o of this.outlets.values()) o.stop()
    await Promise.all([...this.inlets.values()].map(({ inlet }) => inlet.stop()))
  }
}

/** A policy applied to the peer of a secure channel, at handshake: how an inlet checks its outlet. */
export function policyTrust(policy: () => Policy, resource: { id: string; type: string }): TrustPolicy {
  return {
    get description() {
      return `policy ${policy().source}`
    },
    check(peer) {
      const d = policy().decide({ identifier: peer.identifier, hasCredential: peer.credentials.length > 0, attributes: peer.attributes }, resource)
      if (!d.allowed) throw new UntrustedPeerError(`${resource.type} ${resource.id}: ${d.reason}`)
    }
  }
}

/** A relay as `show` lists it: registered when any replica holds it, and each replica's registration. */
function relaySummary(name: string, relays: readonly RelayRegistration[]): Record<string, unknown> {
  const [one] = relays
  if (relays.length === 1 && one !== undefined) return one.summary()
  return { name, registered: relays.some((r) => r.registered), registrations: relays.reduce((n, r) => n + r.registrations, 0), replicas: relays.map((r) => r.summary()) }
}
