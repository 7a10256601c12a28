import { formatTarget, outletTarget, PortalError } from './inlet-route.js'
import { local } from '../routing/address.js'
import { nowSeconds } from '../identity/signed-data.js'
import { policyTrust } from '../policy/trust.js'
import { TcpInlet } from '../portal/tcp-inlet.js'
import { TcpOutlet } from '../portal/tcp-outlet.js'
import { RelayRegistration } from '../relay/relay-registration.js'
import type { InfluxdbInletConfig, InfluxdbOutletConfig, TcpInletConfig, TcpOutletConfig } from './config.js'
import type { LeaseManager } from '../influxdb/leases/lease-manager.js'
import type { PortalsOptions } from './portals-options.js'
import { InfluxdbPortals } from './influxdb-portals.js'
import { readCa } from './tls-ca.js'
import type { TrustPolicy } from '../channel/trust-policy.js'
import { OutletChannel } from './outlet-channel.js'

export type { PortalsOptions } from './portals-options.js'

/** The node's TCP outlets, inlets and relay registrations, from config or the CLI. */
export class Portals {
  readonly outlets = new Map<string, TcpOutlet>()
  readonly inlets = new Map<string, { inlet: TcpInlet; route: string; channel?: OutletChannel }>()
  readonly relays = new Map<string, RelayRegistration>()
  private readonly influxdb: InfluxdbPortals

  constructor(private readonly o: PortalsOptions) {
    this.influxdb = new InfluxdbPortals(o, {
      addTcpOutlet: (c, targetName) => this.addOutlet(c, targetName),
      outletTrust: (type, from, allow) => this.outletTrust(type, from, allow),
      addInternalInlet: (bound, entry) => this.inlets.set(`internal:${bound}`, entry)
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
      ...(targetName !== undefined ? { targetName } : {})
    })
    outlet.start()
    this.outlets.set(c.from, outlet)
    return outlet.summary()
  }

  /** Reasons the portals cannot serve yet: relays not registered, inlets without a route to their outlet, influxdb outlets and inlets not ready. */
  notReady(): string[] {
    const reasons: string[] = []
    for (const r of this.relays.values()) if (!r.registered) reasons.push(`relay ${r.summary().name as string} not registered`)
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
    this.inlets.set(bound, { inlet, route, channel })
    void channel.keepOpen(this.o.signal)
    return { ...inlet.summary(), route }
  }

  /** The inlet's policy on the outlet identity: `allow` if given (and stored), else the resource's policy. */
  async outletTrust(type: string, from: string, allowText: string | undefined): Promise<TrustPolicy> {
    const resource = `${type}:${from}`
    if (allowText !== undefined) await this.o.policies.set(resource, allowText, nowSeconds())
    return policyTrust(() => this.o.policies.get(resource), { id: resource, type })
  }

  addRelay(name: string, at?: string): Record<string, unknown> {
    if (this.relays.has(name)) throw new PortalError(`relay '${name}' is already being registered`)
    const { node, project } = this.o
    if (at === undefined && project === undefined) throw new PortalError('registering a relay needs a project (enroll first) or --at ROUTE')
    const target = at ?? `/project/${project?.name ?? ''}`
    const relay = new RelayRegistration({
      router: node.router, log: this.o.log.child({ relay: name }), name,
      connect: (signal) => node.resolve(target, { signal }),
      closed: (address) => new Promise((resolve) => {
        const c = node.channels.get(address)
        if (c === undefined) resolve('channel already closed')
        else c.onClose(resolve)
      }),
      ...(this.o.credential !== undefined ? { credential: this.o.credential } : {})
    })
    relay.start(this.o.signal)
    this.relays.set(name, relay)
    return relay.summary()
  }

  show(): Record<string, unknown> {
    return {
      ...this.influxdb.show(),
      tcpOutlets: [...this.outlets.values()].map((o) => o.summary()),
      tcpInlets: [...this.inlets.values()].map(({ inlet, route }) => ({ ...inlet.summary(), route })),
      relays: [...this.relays.values()].map((r) => r.summary())
    }
  }

  async stop(): Promise<void> {
    await this.influxdb.stop()
    for (const o of this.outlets.values()) o.stop()
    await Promise.all([...this.inlets.values()].map(({ inlet }) => inlet.stop()))
  }
}

