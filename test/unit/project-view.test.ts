import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AuthorityClient, MemberView, ProjectStatusView, TicketView } from '../../src/authority/authority-client.js'
import type { LeaseView } from '../../src/influxdb/leases/lease-types.js'
import { silentLogger } from '../../src/log/logger.js'
import { HISTORY_MINUTES, MAX_CONSOLE_EVENTS, ProjectView, type ConsoleEvent } from '../../src/console/project-view.js'

// A project that changes between looks, as the console's poller sees it.
let members: MemberView[] = []
let tickets: TicketView[] = []
let relays: ProjectStatusView['relays'] = []
let leases: LeaseView[] = []
let failing: string | undefined
const member = (identifier: string): MemberView => ({ identifier, attributes: { site: '7' }, role: 'member', addedAt: 1, addedBy: null } as unknown as MemberView)
const lease = (id: string, identifier: string): LeaseView => ({ id, identifier, backend: 'v1', createdAt: '', expiresAt: '2030-01-01T00:00:00.000Z', revokedAt: null, permissions: [] })
const client = {
  status: () => failing !== undefined ? Promise.reject(new Error(failing)) : Promise.resolve({ project: 'p', route: '/r', members: members.length, replicas: ['/r'], relays, channels: {}, credentials: {} }),
  listMembers: () => Promise.resolve(members),
  listTickets: () => Promise.resolve(tickets)
} as unknown as AuthorityClient

test('two looks at the project become events: members, relays, tickets and leases that came and went', async () => {
  members = [member('Ia')]
  relays = [{ name: 'db', identifier: 'Io', shared: false, registeredAt: '', forwarded: 0 }]
  leases = [lease('l1', 'Ia')]
  const view = new ProjectView({ client, leases: (relay) => Promise.resolve({ relay, outlet: 'influxdb-outlet', leases }), log: silentLogger })
  const seen: ConsoleEvent[] = []
  view.subscribe((e) => seen.push(e))
  const signal = new AbortController().signal
  await view.refresh(signal)
  assert.equal(seen.length, 0, 'the first look is the starting point, not news')
  members = [member('Ia'), member('Ib')]
  relays = [{ name: 'db', identifier: 'Io2', shared: true, registeredAt: '', forwarded: 0 }]
  tickets = [{ id: 't1', attributes: {}, role: 'member', usesLeft: 1, expiresAt: 2, createdAt: 1, createdBy: 'Iadmin' }]
  leases = [lease('l2', 'Ia'), lease('l3', 'Ib')]
  await view.refresh(signal)
  assert.deepEqual(seen.map((e) => [e.kind, e.subject]).sort(), [
    ['lease-issued', 'l3'], ['lease-renewed', 'l2'], ['lease-revoked', 'l1'], ['member-added', 'Ib'], ['relay-lost', 'db'], ['relay-registered', 'db'], ['ticket-created', 't1']
  ].sort())
  members = [member('Ib')]
  tickets = []
  await view.refresh(signal)
  assert.deepEqual(seen.slice(-2).map((e) => e.kind).sort(), ['member-deleted', 'ticket-gone'])
  const point = view.history.at(-1)
  assert.deepEqual([point?.enrollments, point?.leasesIssued, point?.leasesRevoked], [1, 2, 1])
})

test('a project that cannot be read keeps the last snapshot and says why; events and history stay bounded', async () => {
  members = []
  relays = []
  leases = []
  const view = new ProjectView({ client, leases: (relay) => Promise.resolve({ relay, outlet: 'o', leases }), log: silentLogger })
  const signal = new AbortController().signal
  await view.refresh(signal)
  for (let i = 0; i < MAX_CONSOLE_EVENTS + 10; i++) {
    members = [member(`I${i}`)]
    await view.refresh(signal)
  }
  assert.equal(view.events.length, MAX_CONSOLE_EVENTS)
  assert.ok(view.history.length <= HISTORY_MINUTES)
  const before = view.snapshot.members
  failing = 'the project node is away'
  await view.refresh(signal)
  failing = undefined
  assert.equal(view.snapshot.error, 'the project node is away')
  assert.deepEqual(view.snapshot.members, before)
})
