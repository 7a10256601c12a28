import type { Logger } from 'pino'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AuthorityClient, MemberView, ProjectStatusView, TicketView } from '../authority/authority-client.js'
import type { LeaseView } from '../influxdb/leases/lease-types.js'

/** How often the console asks the project and the outlets what changed. */
export const CONSOLE_POLL_MS = 2000
/** Events kept for a page that opens late (the newest). */
export const MAX_CONSOLE_EVENTS = 500
/** Points of the charts: one a minute, an hour of them. */
export const HISTORY_MINUTES = 60

export type EventKind = 'member-added' | 'member-deleted' | 'lease-issued' | 'lease-renewed' | 'lease-revoked' | 'relay-registered' | 'relay-lost' | 'ticket-created' | 'ticket-gone'

export interface ConsoleEvent {
  at: string
  kind: EventKind
  /** An identifier, a lease id, a relay name or a ticket id. */
  subject: string
  detail: string
}

/** Counts per minute, for the overview's charts. */
export interface HistoryPoint { minute: number; enrollments: number; leasesIssued: number; leasesRevoked: number }

/** The leases of one outlet, reached through one relay (or why they could not be read). */
export interface OutletLeases { relay: string; outlet: string; leases: LeaseView[]; error?: string }

export interface Snapshot {
  status: ProjectStatusView | undefined
  members: MemberView[]
  tickets: TicketView[]
  outlets: OutletLeases[]
  updatedAt: string
  error?: string
}

export interface ProjectViewOptions {
  client: AuthorityClient
  /** The live leases of the outlets behind `relay`, as a lease admin sees them. */
  leases: (relay: string, signal: AbortSignal) => Promise<OutletLeases>
  log: Logger
  pollMs?: number
}

/**
 * What the console shows, kept fresh by asking the project (as the console's identity) and every
 * outlet behind its relays; the differences between two looks become events and chart points.
 */
export class ProjectView {
  snapshot: Snapshot = { status: undefined, members: [], tickets: [], outlets: [], updatedAt: new Date(0).toISOString() }
  readonly events: ConsoleEvent[] = []
  readonly history: HistoryPoint[] = []
  private readonly listeners = new Set<(e: ConsoleEvent) => void>()
  private first = true

  constructor(private readonly o: ProjectViewOptions) {}

  /** Each new event, as it is found; returns what stops it. */
  subscribe(listener: (e: ConsoleEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.refresh(signal)
      try {
        await sleep(this.o.pollMs ?? CONSOLE_POLL_MS, undefined, { signal })
      } catch {
        return
      }
    }
  }

  /** One look at the project and its outlets; what changed since the last is told to subscribers. */
  async refresh(signal: AbortSignal): Promise<void> {
    try {
      const [status, members, tickets] = await Promise.all([this.o.client.status(signal), this.o.client.listMembers({}, signal), this.o.client.listTickets(signal)])
      const relays = [...new Set(status.relays.map((r) => r.name))].sort()
      const outlets = await Promise.all(relays.map((r) => this.o.leases(r, signal)))
      const next: Snapshot = { status, members, tickets, outlets, updatedAt: new Date().toISOString() }
      if (!this.first) this.compare(this.snapshot, next)
      this.first = false
      this.snapshot = next
    } catch (err) {
      if (signal.aborted) return
      this.snapshot = { ...this.snapshot, error: (err as Error).message }
      this.o.log.warn({ err: (err as Error).message }, 'the console could not read the project')
    }
  }

  private compare(before: Snapshot, after: Snapshot): void {
    const ids = (xs: { identifier: string }[]): Set<string> => new Set(xs.map((x) => x.identifier))
    const [was, is] = [ids(before.members), ids(after.members)]
    for (const m of after.members) if (!was.has(m.identifier)) this.emit('member-added', m.identifier, `attributes ${JSON.stringify(m.attributes)}, role ${m.role}`)
    for (const id of was) if (!is.has(id)) this.emit('member-deleted', id, 'revoked')
    const relayKey = (r: { name: string; identifier: string }): string => `${r.name} ${r.identifier}`
    const relaysBefore = new Set((before.status?.relays ?? []).map(relayKey))
    const relaysAfter = new Set((after.status?.relays ?? []).map(relayKey))
    for (const r of after.status?.relays ?? []) if (!relaysBefore.has(relayKey(r))) this.emit('relay-registered', r.name, `by ${r.identifier}`)
    for (const r of before.status?.relays ?? []) if (!relaysAfter.has(relayKey(r))) this.emit('relay-lost', r.name, `${r.identifier} is gone`)
    const ticketsBefore = new Set(before.tickets.map((t) => t.id))
    const ticketsAfter = new Set(after.tickets.map((t) => t.id))
    for (const t of after.tickets) if (!ticketsBefore.has(t.id)) this.emit('ticket-created', t.id, `attributes ${JSON.stringify(t.attributes)}, ${t.usesLeft} uses`)
    for (const t of before.tickets) if (!ticketsAfter.has(t.id)) this.emit('ticket-gone', t.id, 'used up, expired or revoked')
    const leases = (s: Snapshot): Map<string, LeaseView> => new Map(s.outlets.flatMap((o) => o.leases.map((l) => [l.id, l] as const)))
    const [leasesBefore, leasesAfter] = [leases(before), leases(after)]
    const holders = new Set([...leasesBefore.values()].map((l) => l.identifier))
    for (const [id, l] of leasesAfter) if (!leasesBefore.has(id)) this.emit(holders.has(l.identifier) ? 'lease-renewed' : 'lease-issued', id, `to ${l.identifier}, until ${l.expiresAt}`)
    for (const [id, l] of leasesBefore) if (!leasesAfter.has(id)) this.emit('lease-revoked', id, `of ${l.identifier}`)
  }

  private emit(kind: EventKind, subject: string, detail: string): void {
    const e: ConsoleEvent = { at: new Date().toISOString(), kind, subject, detail }
    this.events.push(e)
    if (this.events.length > MAX_CONSOLE_EVENTS) this.events.shift()
    this.count(kind)
    for (const l of this.listeners) l(e)
  }

  private count(kind: EventKind): void {
    const minute = Math.floor(Date.now() / 60_000)
    let point = this.history.at(-1)
    if (point?.minute !== minute) {
      point = { minute, enrollments: 0, leasesIssued: 0, leasesRevoked: 0 }
      this.history.push(point)
      while (this.history.length > HISTORY_MINUTES) this.history.shift()
    }
    if (kind === 'member-added') point.enrollments++
    else if (kind === 'lease-issued' || kind === 'lease-renewed') point.leasesIssued++
    else if (kind === 'lease-revoked') point.leasesRevoked++
  }
}
