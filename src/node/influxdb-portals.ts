import type { Logger } from 'pino'
import { nowSeconds } from '../identity/signed-data.js'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TrustPolicy } from '../channel/trust-policy.js'
import { local } from '../routing/address.js'
import { TcpInlet } from '../portal/tcp-inlet.js'
import type { LeaseBackend } from '../influxdb/backends/backend.js'
import { detectBackend, DetectingBackend } from '../influxdb/backends/detecting-backend.js'
import { databaseHost, type Endpoint } from '../influxdb/backends/http.js'
import { V1Backend } from '../influxdb/backends/v1-backend.js'
import { V2Backend } from '../influxdb/backends/v2-backend.js'
import { V3Backend } from '../influxdb/backends/v3-backend.js'
import { LeaseManager } from '../influxdb/leases/lease-manager.js'
import { LeaseClient, leaseRoute, leaseServiceAddress, serveLeases } from '../influxdb/leases/lease-service.js'
import { parsePermissionTemplate } from '../influxdb/leases/permissions.js'
import { InfluxdbInlet } from '../influxdb/inlet/influxdb-inlet.js'
import { LeaseKeeper } from '../influxdb/inlet/lease-keeper.js'
import type { InfluxdbInletConfig, InfluxdbOutletConfig, TcpOutletConfig } from './config.js'
import { formatTarget, outletTarget, PortalError, PortalNotFoundError } from './inlet-route.js'
import { OutletChannel } from './outlet-channel.js'
import { readCa, type PortalsOptions } from './portals-options.js'

/** How often a shared-strategy influxdb inlet looks after its lease with no client asking (renewal, retry). */
export const LEASE_TEND_MS = 5000
export const LEASE_TEND_FIRST_MS = 1000
/** How often an influxdb outlet whose database refused its credentials tries them again. */
export const VERIFY_RETRY_MS = 5000

/** What the InfluxDB portals use of the node's TCP portals. */
export interface TcpPortals {
  addTcpOutlet(c: TcpOutletConfig, targetName: string): Promise<Record<string, unknown>>
  outletTrust(type: string, from: string, allowText: string | undefined): Promise<TrustPolicy>
  /** An inlet used in-process (no listener), listed with the others. */
  addInternalInlet(bound: string, entry: { inlet: TcpInlet; route: string }): void
  removeInternalInlet(bound: string): Promise<void>
  removeTcpOutlet(name: string): void
}

/**
 * The node's InfluxDB outlets (a TCP outlet to the database, a lease manager and its service) and
 * InfluxDB inlets (the token-injecting HTTP endpoint, its lease keeper, and the portal under it).
 */
export class InfluxdbPortals {
  readonly leaseManagers = new Map<string, LeaseManager>()
  readonly influxdbInlets = new Map<string, { inlet: InfluxdbInlet; keeper: LeaseKeeper; route: string; strategy: 'shared' | 'per-client'; channel: OutletChannel; life: AbortController }>()
  /** influxdb outlets with `api: auto` whose database had not answered when they started. */
  private readonly waitingOutlets = new Map<string, DetectingBackend>()
  /** Influxdb outlets whose database has not yet taken their credentials, with the reason. */
  private readonly unverified = new Map<string, string>()

  constructor(private readonly o: PortalsOptions, private readonly tcp: TcpPortals) {}

  async addOutlet(c: InfluxdbOutletConfig): Promise<Record<string, unknown>> {
    if (this.leaseManagers.has(c.from)) throw new PortalError(`an influxdb outlet named '${c.from}' already exists`)
    const ca = readCa(c['tls-ca-file'])
    const endpoint: Endpoint = { to: c.to, tls: c.tls, ...(ca !== undefined ? { ca } : {}), ...(c['tls-server-name'] !== undefined ? { serverName: c['tls-server-name'] } : {}) }
    const log = this.o.log.child({ outlet: c.from })
    const backend = c.api === 'auto'
      ? await detectBackend({ endpoint, make: (api) => makeBackend(api, c, endpoint, log), log, signal: this.o.signal, ...(c['all-access-token'] !== undefined ? { token: c['all-access-token'] } : {}) })
      : makeBackend(c.api, c, endpoint, log)
    const manager = new LeaseManager({
      outlet: c.from, owner: this.o.sharedStore === true ? `shared/${c.from}` : `${this.o.node.identifier}/${c.from}`, backend, leases: this.o.leases, log, orgId: c['org-id'] ?? '', permissions: parsePermissionTemplate(c['leased-token-permissions'], { allowOrgWide: c['allow-org-wide-permissions'] === true }),
      ttlSeconds: c['leased-token-expires-in'], maxPerIdentity: c['max-leases-per-identity'], maxTotal: c['max-leases'], host: databaseHost(endpoint)
    })
    const tcpSummary = await this.tcp.addTcpOutlet({ to: c.to, from: c.from, tls: c.tls, ...(c['max-connections'] !== undefined ? { 'max-connections': c['max-connections'] } : {}), ...(c.allow !== undefined ? { allow: c.allow } : {}),
      ...(c['tls-ca-file'] !== undefined ? { 'tls-ca-file': c['tls-ca-file'] } : {}), ...(c['tls-server-name'] !== undefined ? { 'tls-server-name': c['tls-server-name'] } : {}) }, 'the database')
    const adminResource = `${c.from}/lease-admin`
    if (c['admin-allow'] !== undefined) await this.o.policies.set(adminResource, c['admin-allow'], nowSeconds())
    serveLeases(this.o.node.router, leaseServiceAddress(c.from), manager, (msg) => this.o.policies.decide(c.from, 'influxdb-outlet', msg), log,
      c['admin-allow'] !== undefined ? (msg) => this.o.policies.decide(adminResource, 'influxdb-outlet-admin', msg) : undefined)
    this.leaseManagers.set(c.from, manager)
    this.o.node.onRevoke((id) => {
      manager.revokeIdentity(id, this.o.signal).catch((err: unknown) => log.error({ identifier: id, err: (err as Error).message }, 'a revoked identity\'s leases could not be marked for revocation; they end at their expiry'))
    })
    if (backend instanceof DetectingBackend) {
      this.waitingOutlets.set(c.from, backend)
      this.unverified.set(c.from, 'the database has not been reached yet')
      backend.detected.then(() => this.tendLeases(manager, log, c.from, backend), () => undefined)
    } else {
      this.unverified.set(c.from, 'the outlet\'s credentials have not been checked yet')
      void this.tendLeases(manager, log, c.from, backend)
    }
    return { ...tcpSummary, api: backend.kind, leases: leaseServiceAddress(c.from) }
  }

  /**
   * The sweeper, for as long as the node runs; and once the database has taken the outlet's
   * credentials (checked again every VERIFY_RETRY_MS until it does, the reason shown by /readyz),
   * the orphans a crash may have left behind.
   */
  private async tendLeases(manager: LeaseManager, log: Logger, outlet: string, backend: LeaseBackend): Promise<void> {
    void manager.sweep(this.o.signal)
    for (let logged = ''; !this.o.signal.aborted;) {
      try {
        await (backend.verify !== undefined ? backend.verify(this.o.signal) : backend.listTagged(this.o.signal))
        this.unverified.delete(outlet)
        manager.unavailable = undefined
        if (logged !== '') log.info('the database now accepts the outlet\'s credentials')
        break
      } catch (err) {
        const reason = (err as Error).message
        this.unverified.set(outlet, reason)
        manager.unavailable = reason
        if (reason !== logged) log.error({ err: reason }, 'the database does not accept the outlet\'s credentials; leases cannot be issued until it does')
        logged = reason
        try {
          await sleep(VERIFY_RETRY_MS, undefined, { signal: this.o.signal })
        } catch {
          return
        }
      }
    }
    try {
      const orphans = await manager.reconcile(this.o.signal)
      if (orphans > 0) log.warn({ orphans }, 'revoked lease credentials left behind by an earlier run')
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not check the database for orphaned leases; the sweeper will still revoke known ones')
    }
  }

  /** Influxdb outlets still waiting for their database; inlets without a route to their outlet or without a lease. */
  notReady(): string[] {
    const reasons: string[] = []
    for (const [name, b] of this.waitingOutlets) if (b.waiting !== undefined) reasons.push(`influxdb outlet ${name}: ${b.waiting}`)
    for (const [name, reason] of this.unverified) reasons.push(`influxdb outlet ${name}: ${reason}`)
    // An inlet is ready while the route to its outlet is open; a shared-strategy one, while it also
    // holds a lease (then its outlet and database answered).
    for (const [from, i] of this.influxdbInlets) {
      const down = i.channel.notOpen()
      if (down !== undefined) reasons.push(`influxdb inlet ${from}: ${down}`)
      const why = i.strategy === 'shared' ? i.keeper.unavailable('shared') : undefined
      if (why !== undefined) reasons.push(`influxdb inlet ${from}: no lease: ${why}`)
    }
    return reasons
  }

  async addInlet(c: InfluxdbInletConfig): Promise<Record<string, unknown>> {
    const { node } = this.o
    const target = outletTarget(c, this.o.project)
    const base = formatTarget(target)
    // One secure channel to the outlet node carries both the portal and the lease requests.
    const log = this.o.log.child({ inlet: c.from })
    const channel = new OutletChannel(node, target, await this.tcp.outletTrust('influxdb-inlet', c.from, c.allow), log, this.o.credential)
    // Never started: the HTTP side opens its upstream connections in-process (no loopback hop).
    const portal = new TcpInlet({
      router: node.router, log, from: 'in-process',
      connect: async (signal) => {
        const r = await channel.get(signal)
        return { route: [...r.route, local(target.outlet)], channel: r.channel }
      },
      isOpen: channel.isOpen,
      discard: channel.discard,
      onChannelClose: channel.onChannelClose
    })
    const client = new LeaseClient(node.router, async () => {
      const r = await channel.get()
      return { route: leaseRoute(r.route, target.outlet), closed: channel.closedSignal(r.channel) }
    })
    // Shared by every request that waits for it, so it ends with the node, not with any one request.
    const keeper = new LeaseKeeper(() => client.create(this.o.signal), log)
    const inlet = new InfluxdbInlet({ log, from: c.from, upstream: () => portal.openStream(), leases: keeper, strategy: c['leased-token-strategy'], outletDown: () => channel.down() })
    const bound = await inlet.start()
    this.tcp.addInternalInlet(bound, { inlet: portal, route: base })
    const life = new AbortController()
    const alive = AbortSignal.any([this.o.signal, life.signal])
    this.influxdbInlets.set(bound, { inlet, keeper, route: base, strategy: c['leased-token-strategy'], channel, life })
    void channel.keepOpen(alive)
    // The shared lease is looked after with no client asking: obtained soon after start (so
    // readiness can say whether the outlet and its database answer), renewed when due, asked again
    // after a failure (with its backoff). The first look waits a moment for the node's credential.
    if (c['leased-token-strategy'] === 'shared') {
      let tend: NodeJS.Timeout | undefined
      const look = (): void => {
        keeper.get('shared').catch(() => undefined)
        tend = setTimeout(look, LEASE_TEND_MS).unref()
      }
      tend = setTimeout(look, LEASE_TEND_FIRST_MS).unref()
      alive.addEventListener('abort', () => clearTimeout(tend), { once: true })
    }
    return { from: bound, route: base, strategy: c['leased-token-strategy'] }
  }

  /** Deletes an influxdb outlet: no lease is issued any more, and its live ones are revoked by its sweeper, which goes on. */
  async removeOutlet(name: string): Promise<void> {
    const manager = this.leaseManagers.get(name)
    if (manager === undefined) throw new PortalNotFoundError(`no influxdb outlet named '${name}'`)
    this.o.node.router.unregister(leaseServiceAddress(name))
    this.tcp.removeTcpOutlet(name)
    this.leaseManagers.delete(name)
    this.waitingOutlets.delete(name)
    this.unverified.delete(name)
    await manager.retire()
  }

  /** Deletes an influxdb inlet: it stops listening, and its route to the outlet is closed. */
  async removeInlet(from: string): Promise<void> {
    const i = this.influxdbInlets.get(from)
    if (i === undefined) throw new PortalNotFoundError(`no influxdb inlet listening on '${from}'`)
    this.influxdbInlets.delete(from)
    i.life.abort()
    await i.inlet.stop()
    await this.tcp.removeInternalInlet(from)
    i.channel.close('the influxdb inlet was deleted')
  }

  show(): Record<string, unknown> {
    return {
      influxdbOutlets: [...this.leaseManagers.entries()].map(([name, m]) => ({ name, api: m.kind, ...m.stats })),
      influxdbInlets: [...this.influxdbInlets.entries()].map(([from, i]) => ({ from, route: i.route, ...i.inlet.summary(), leases: i.keeper.current() }))
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.influxdbInlets.values()].map(({ inlet }) => inlet.stop()))
  }
}

function makeBackend(api: 'v1' | 'v2' | 'v3', c: InfluxdbOutletConfig, endpoint: Endpoint, log: Logger): LeaseBackend {
  switch (api) {
    case 'v1':
      if (c['admin-username'] === undefined || c['admin-password'] === undefined) throw new PortalError('an InfluxDB 1.x outlet needs admin-username and admin-password')
      if (c['shared-secret'] === undefined) {
        // A lease is then a database user, dropped by the outlet at expiry: while the outlet is
        // down past that, InfluxDB still accepts it. A JWT signed with shared-secret expires by itself.
        log.warn({ setting: 'shared-secret' }, 'InfluxDB 1.x without shared-secret: a lease stays valid in InfluxDB past its expiry while this outlet is down; set shared-secret (InfluxDB\'s [http] shared-secret) so that leases expire in InfluxDB itself')
      }
      return new V1Backend({ endpoint, adminUsername: c['admin-username'], adminPassword: c['admin-password'], ...(c['shared-secret'] !== undefined ? { sharedSecret: c['shared-secret'] } : {}) })
    case 'v2':
      if (c['org-id'] === undefined || c['all-access-token'] === undefined) throw new PortalError('an InfluxDB 2.x outlet needs org-id and all-access-token')
      return new V2Backend({ endpoint, orgId: c['org-id'], allAccessToken: c['all-access-token'] })
    case 'v3':
      if (c['all-access-token'] === undefined) throw new PortalError('an InfluxDB 3 Enterprise outlet needs all-access-token (an admin token)')
      return new V3Backend({ endpoint, adminToken: c['all-access-token'] })
  }
}
