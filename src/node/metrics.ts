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

type Labels = Record<string, string>

/**
 * A counter whose value a live object keeps (a count of events it has seen), set at each scrape:
 * typed and named as the counter it is (`_total`), though nothing increments it in place.
 */
function countedAtScrape(registers: Registry[], name: string, help: string, labelNames: string[], read: () => [Labels, number][]): void {
  new Counter({
    name, help, labelNames, registers,
    collect() {
      this.reset()
      for (const [labels, value] of read()) this.inc(labels, value)
    }
  })
}

/**
 * The node's Prometheus registry. Gauges, and counters of what the live objects count, read
 * them at scrape time, so nothing has to remember to update them; the other counters are
 * incremented where events happen.
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
    countedAtScrape(r, 'portico_router_messages_total', 'Messages routed, by outcome', ['outcome'], () => {
      const s = node.router.stats
      return [[{ outcome: 'delivered' }, s.delivered], [{ outcome: 'no_route' }, s.dropped.noRoute], [{ outcome: 'denied' }, s.dropped.denied], [{ outcome: 'mailbox_full' }, s.dropped.mailboxFull]]
    })
    countedAtScrape(r, 'portico_router_messages_in_parts_total', 'Messages delivered as the pieces they arrived in, without a copy to join them', [], () => [[{}, node.router.stats.deliveredInParts]])
    if (membership !== undefined) {
      new Gauge({
        name: 'portico_credential_expires_at_seconds', help: 'When this node\'s credential expires (Unix seconds)', registers: r,
        collect() { this.set(membership.credentials.expiresAt ?? 0) }
      })
      countedAtScrape(r, 'portico_credential_refreshes_total', 'Credentials obtained from the authority', [], () => [[{}, membership.credentials.refreshes]])
      countedAtScrape(r, 'portico_credential_failures_total', 'Failed attempts to obtain a credential', [], () => [[{}, membership.credentials.failures]])
      countedAtScrape(r, 'portico_revocation_poll_failures_total', 'Failed polls of the revocation list', [], () => [[{}, membership.revocations.failures]])
    }
    this.registerLeaseGauges()
    this.registerInletGauges()
    this.relayChanges = new Counter({ name: 'portico_relay_registration_changes_total', help: 'Relay registrations at this project node, by change (registered, replaced by its holder, refused to another identity, removed)', labelNames: ['change'], registers: r })
    this.accessDenied = new Counter({ name: 'portico_access_denied_total', help: 'Messages refused by a policy', labelNames: ['resource'], registers: r })
  }

  /** A counter with one series per item of a map this node keeps (an outlet, an inlet), read at scrape time. */
  private perItemCounter<T>(label: string, items: () => ReadonlyMap<string, T>, name: string, help: string, read: (item: T) => number): void {
    countedAtScrape([this.registry], name, help, [label], () => [...items()].map(([key, item]) => [{ [label]: key }, read(item)]))
  }

  private registerLeaseGauges(): void {
    const counter = (name: string, help: string, read: (m: LeaseManager) => number): void => { this.perItemCounter('outlet', () => this.leaseManagers, name, help, read) }
    counter('portico_leases_issued_total', 'Leases issued by this outlet', (m) => m.stats.issued)
    counter('portico_leases_revoked_total', 'Leases revoked by this outlet', (m) => m.stats.revoked)
    counter('portico_lease_revocation_failures_total', 'Failed lease revocation attempts (each is retried with backoff)', (m) => m.stats.revokeFailures)
    counter('portico_lease_issue_failures_total', 'Failed attempts to issue a lease', (m) => m.stats.issueFailures)
    counter('portico_lease_requests_abandoned_total', 'Lease requests dropped after waiting as long as their caller waits for a turn to be issued', (m) => m.stats.issueAbandoned)
  }

  private registerInletGauges(): void {
    const counter = (name: string, help: string, read: (i: { inlet: InfluxdbInlet; keeper: LeaseKeeper }) => number): void => { this.perItemCounter('inlet', () => this.influxdbInlets, `${name}_total`, help, read) }
    counter('portico_influxdb_inlet_requests', 'HTTP requests taken by this influxdb-inlet', (i) => i.inlet.requests)
    counter('portico_influxdb_inlet_bad_requests', 'Malformed HTTP requests refused (400 or 431)', (i) => i.inlet.badRequests)
    counter('portico_influxdb_inlet_upstream_errors', 'Requests that failed through the portal (the client got a 502, or an answer cut short)', (i) => i.inlet.upstreamErrors)
    counter('portico_influxdb_inlet_retried_after_401', 'Requests sent once more with a new lease after the database refused the old one', (i) => i.inlet.retried)
    counter('portico_influxdb_inlet_refused', 'Requests the inlet refused itself: outside the lease (403), malformed target or query (400), too large (413)', (i) => i.inlet.refused)
    counter('portico_influxdb_inlet_without_lease', 'Requests answered at once because no lease could be obtained (403, 404 or 503 with the reason)', (i) => i.inlet.withoutLease)
    counter('portico_influxdb_inlet_leases_obtained', 'Leases this inlet obtained (first ones, renewals and replacements)', (i) => i.keeper.renewals)
    counter('portico_influxdb_inlet_lease_failures', 'Failed lease requests (each backs off before the next for its key)', (i) => i.keeper.failures)
  }
}
