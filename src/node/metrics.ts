import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { PorticoNode } from './portico-node.js'
import type { Membership } from './membership.js'
import type { LeaseManager } from '../influxdb/lease-manager.js'

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

  /** Lease managers of this node's influxdb-outlets, read at scrape time. */
  leaseManagers: ReadonlyMap<string, LeaseManager> = new Map()

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
    this.accessDenied = new Counter({ name: 'portico_access_denied_total', help: 'Messages refused by a policy', labelNames: ['resource'], registers: r })
  }

  private registerLeaseGauges(): void {
    const managers = (): ReadonlyMap<string, LeaseManager> => this.leaseManagers
    const gauge = (name: string, help: string, read: (m: LeaseManager) => number): void => {
      new Gauge({
        name, help, labelNames: ['outlet'], registers: [this.registry],
        collect() { for (const [outlet, m] of managers()) this.set({ outlet }, read(m)) }
      })
    }
    gauge('portico_leases_issued', 'Leases issued by this outlet', (m) => m.stats.issued)
    gauge('portico_leases_revoked', 'Leases revoked by this outlet', (m) => m.stats.revoked)
    gauge('portico_lease_revocation_failures', 'Failed lease revocation attempts (each is retried with backoff)', (m) => m.stats.revokeFailures)
    gauge('portico_lease_issue_failures', 'Failed attempts to issue a lease', (m) => m.stats.issueFailures)
  }
}
