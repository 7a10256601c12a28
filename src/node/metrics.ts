import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { PorticoNode } from './portico-node.js'
import type { Membership } from './membership.js'
import type { LeaseManager } from '../influxdb/leases/lease-manager.js'
import type { InfluxdbInlet } from '../influxdb/inlet/influxdb-inlet.js'
import type { LeaseKeeper } from '../influxdb/inlet/lease-keeper.js'

/**
 * How often the event-loop delay histogram samples, in ms. prom-client's default of 10 ms wakes an
 * idle node about 200 times a second (1.5 % of a CPU on the test machines, forever, on every
 * device's inlet) and takes a share of every busy one's wake-ups; 100 ms keeps its percentiles
 * meaningful over a scrape interval at a tenth of the wake-ups.
 */
export const EVENT_LOOP_SAMPLE_MS = 100

/**
 * The node's Prometheus registry. Gauges read the live objects at scrape time, so nothing has to
 * remember to update them; counters are incremented where events happen.
 */
export class NodeMetrics {
  readonly registry = new Registry()
  readonly accessDenied: Counter<'resource'>
  readonly relayChanges: Counter<'change'>

  /** Lease managers of this node's influxdb-outlets, read at scrape time. */
  leaseManagers: ReadonlyMap<string, LeaseManager> = new Map()
  /** This node's influxdb-inlets by listening address, read at scrape time. */
  influxdbInlets: ReadonlyMap<string, { inlet: InfluxdbInlet; keeper: LeaseKeeper }> = new Map()

  constructor(node: PorticoNode, membership: Membership | undefined) {
    collectDefaultMetrics({ register: this.registry, prefix: 'portico_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
    const r = [this.registry]
    new Gauge({ name: 'portico_secure_channels', help: 'Open secure channels', registers: r, collect() { this.set(node.channels.size) } })
    new Gauge({ name: 'portico_tcp_connections', help: 'Open TCP connections', registers: r, collect() { this.set(node.tcp.list().length) } })
    new Gauge({ name: 'portico_revoked_identities', help: 'Identities revoked by the project authority', registers: r, collect() { this.set(node.revoked.size) } })
    new Gauge({
      name: 'portico_router_messages', help: 'Messages routed, by outcome', labelNames: ['outcome'], registers: r,
      collect() {
        const s = node.router.stats
        this.set({ outcome: 'delivered' }, s.delivered)
        this.set({ outcome: 'no_route' }, s.dropped.noRoute)
        this.set({ outcome: 'denied' }, s.dropped.denied)
        this.set({ outcome: 'mailbox_full' }, s.dropped.mailboxFull)
      }
    })
    new Gauge({
      name: 'portico_router_messages_in_parts', help: 'Messages delivered as the pieces they arrived in, without a copy to join them', registers: r,
      collect() { this.set(node.router.stats.deliveredInParts) }
    })
    if (membership !== undefined) {
      new Gauge({
        name: 'portico_credential_expires_at_seconds', help: 'When this node\'s credential expires (Unix seconds)', registers: r,
        collect() { this.set(membership.credentials.expiresAt ?? 0) }
      })
      new Gauge({ name: 'portico_credential_refreshes', help: 'Credentials obtained from the authority', registers: r, collect() { this.set(membership.credentials.refreshes) } })
      new Gauge({ name: 'portico_credential_failures', help: 'Failed attempts to obtain a credential', registers: r, collect() { this.set(membership.credentials.failures) } })
      new Gauge({ name: 'portico_revocation_poll_failures', help: 'Failed polls of the revocation list', registers: r, collect() { this.set(membership.revocations.failures) } })
    }
    this.registerLeaseGauges()
    this.registerInletGauges()
    this.relayChanges = new Counter({ name: 'portico_relay_registration_changes_total', help: 'Relay registrations at this project node, by change (registered, replaced by its holder, refused to another identity, removed)', labelNames: ['change'], registers: r })
    this.accessDenied = new Counter({ name: 'portico_access_denied_total', help: 'Messages refused by a policy', labelNames: ['resource'], registers: r })
  }

  /** A gauge with one series per item of a map this node keeps (an outlet, an inlet), read at scrape time. */
  private perItemGauge<T>(label: string, items: () => ReadonlyMap<string, T>, name: string, help: string, read: (item: T) => number): void {
    new Gauge({
      name, help, labelNames: [label], registers: [this.registry],
      collect() { for (const [key, item] of items()) this.set({ [label]: key }, read(item)) }
    })
  }

  private registerLeaseGauges(): void {
    const gauge = (name: string, help: string, read: (m: LeaseManager) => number): void => { this.perItemGauge('outlet', () => this.leaseManagers, name, help, read) }
    gauge('portico_leases_issued', 'Leases issued by this outlet', (m) => m.stats.issued)
    gauge('portico_leases_revoked', 'Leases revoked by this outlet', (m) => m.stats.revoked)
    gauge('portico_lease_revocation_failures', 'Failed lease revocation attempts (each is retried with backoff)', (m) => m.stats.revokeFailures)
    gauge('portico_lease_issue_failures', 'Failed attempts to issue a lease', (m) => m.stats.issueFailures)
  }

  private registerInletGauges(): void {
    const gauge = (name: string, help: string, read: (i: { inlet: InfluxdbInlet; keeper: LeaseKeeper }) => number): void => { this.perItemGauge('inlet', () => this.influxdbInlets, name, help, read) }
    gauge('portico_influxdb_inlet_requests', 'HTTP requests taken by this influxdb-inlet', (i) => i.inlet.requests)
    gauge('portico_influxdb_inlet_bad_requests', 'Malformed HTTP requests refused (400 or 431)', (i) => i.inlet.badRequests)
    gauge('portico_influxdb_inlet_upstream_errors', 'Requests that failed through the portal (the client got a 502, or an answer cut short)', (i) => i.inlet.upstreamErrors)
    gauge('portico_influxdb_inlet_retried_after_401', 'Requests sent once more with a new lease after the database refused the old one', (i) => i.inlet.retried)
    gauge('portico_influxdb_inlet_refused', 'Requests the inlet refused itself: outside the lease (403), malformed target or query (400), too large (413)', (i) => i.inlet.refused)
    gauge('portico_influxdb_inlet_without_lease', 'Requests answered 503 because no lease could be obtained', (i) => i.inlet.withoutLease)
    gauge('portico_influxdb_inlet_leases_obtained', 'Leases this inlet obtained (first ones, renewals and replacements)', (i) => i.keeper.renewals)
    gauge('portico_influxdb_inlet_lease_failures', 'Failed lease requests (each backs off before the next for its key)', (i) => i.keeper.failures)
  }
}
