import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { LeaseManager, MAX_CONCURRENT_ISSUES, MAX_ISSUE_WAIT_MS, OUTLET_DELETED, ownerMark, REVOKED_BY_ADMIN, REVOKED_MEMBER, SWEEP_BATCH } from '../../src/influxdb/leases/lease-manager.js'
import { OutletNotReadyError } from '../../src/influxdb/leases/lease-types.js'
import type { LeaseBackend } from '../../src/influxdb/backends/backend.js'
import { V2Backend } from '../../src/influxdb/backends/v2-backend.js'
import { openStore } from '../../src/store/open-store.js'
import type { LeaseRepository } from '../../src/store/store.js'
import { silentLogger } from '../../src/log/logger.js'
import { startV2Emulator } from '../support/influx-v2-emulator.js'
import { waitFor } from '../helpers.js'
import { DEFAULT_RPC_TIMEOUT_MS } from '../../src/services/rpc.js'

// The lease manager over a real store (SQLite) and the contract-checked v2 emulator.

/** Reconcile's second look, shortened: the tests that need the grace make it longer themselves. */
const TEST_RECONCILE_GRACE_MS = 50

const v2 = await startV2Emulator({ buckets: Array.from({ length: 300 }, (_, i) => `b${i}`) })
const store = await openStore('sqlite::memory:')
after(async () => {
  await store.close()
  await v2.close()
})

/** A backend for the emulator, with its all-access token. */
const v2Backend = (): V2Backend => new V2Backend({ endpoint: { to: v2.address, tls: false }, orgId: v2.orgId, allAccessToken: v2.allAccessToken })

/** The store's lease repository, but the first `failures` marks of a revoked identity fail, as a store briefly gone would. */
function flakyLeases(failures: number): { leases: LeaseRepository; tries: () => number } {
  let tries = 0
  const leases: LeaseRepository = Object.create(store.leases) as LeaseRepository
  leases.expireIdentity = async (...args) => {
    tries++
    if (tries <= failures) throw new Error('database connection lost')
    return store.leases.expireIdentity(...args)
  }
  return { leases, tries: () => tries }
}

function manager(leases: LeaseRepository, outlet: string): LeaseManager {
  return new LeaseManager({
    outlet, owner: `test/${outlet}`, backend: v2Backend(),
    leases, log: silentLogger, orgId: v2.orgId, permissions: JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]),
    ttlSeconds: 3600, maxPerIdentity: 5, maxTotal: 100
  })
}

test("a deleted member's leases are revoked even when the store fails for a moment, and no one else's", { timeout: 20_000 }, async () => {
  const { leases, tries } = flakyLeases(2)
  const m = manager(leases, 'flaky-outlet')
  const gone = await m.create({ identifier: 'I-deleted', attributes: { bucket: 'b1' } })
  const kept = await m.create({ identifier: 'I-kept', attributes: { bucket: 'b2' } })
  const sweeping = new AbortController()
  void m.sweep(sweeping.signal)
  try {
    const started = Date.now()
    assert.equal(await m.revokeIdentity('I-deleted', sweeping.signal), 1)
    assert.equal(tries(), 3)
    const active = (token: string): boolean => [...v2.authorizations.values()].some((a) => a.token === token && a.status === 'active')
    await waitFor(() => !active(gone.token), 10_000, 'the deleted member\'s database credential revoked')
    assert.ok(Date.now() - started < 15_000)
    assert.equal(active(kept.token), true)
    assert.deepEqual((await m.list('I-kept')).map((l) => l.revokedAt), [null])
  } finally {
    sweeping.abort()
  }
  assert.deepEqual(v2.violations, [])
})

test('a store that stays down: revoking an identity gives up with the store\'s error after its tries, and stops at once when the node stops', { timeout: 30_000 }, async () => {
  const { leases, tries } = flakyLeases(Infinity)
  const m = manager(leases, 'down-outlet')
  await assert.rejects(m.revokeIdentity('I-any', new AbortController().signal), /database connection lost/)
  assert.equal(tries(), 8)
  const stopping = new AbortController()
  const attempt = m.revokeIdentity('I-any', stopping.signal)
  stopping.abort()
  await assert.rejects(attempt)
  assert.equal(tries(), 9)
})

/** Runs the manager's sweeper until `done` holds (or 10 s pass), then stops it. */
async function sweepUntil(m: LeaseManager, done: () => boolean, what: string): Promise<void> {
  const sweeping = new AbortController()
  const sweep = m.sweep(sweeping.signal)
  try {
    await waitFor(done, 10_000, what)
  } finally {
    sweeping.abort()
    await sweep
  }
}

/** A manager on its own outlet name, with a clock the test moves. */
function managerAt(outlet: string, clock: { now: number }, leases: LeaseRepository = store.leases, maxTotal = 1000, sweepIntervalMs?: number, reconcileGraceMs = TEST_RECONCILE_GRACE_MS): LeaseManager {
  return new LeaseManager({
    outlet, owner: `test/${outlet}`, backend: v2Backend(),
    leases, log: silentLogger, orgId: v2.orgId, permissions: JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]),
    ttlSeconds: 60, maxPerIdentity: 500, maxTotal, now: () => clock.now, reconcileGraceMs, ...(sweepIntervalMs !== undefined ? { sweepIntervalMs } : {})
  })
}
const tokenActive = (token: string): boolean => [...v2.authorizations.values()].some((a) => a.token === token)

test('a member sees, shows and revokes only its own leases: another\'s is no lease at all to it', async () => {
  const m = managerAt('own-outlet', { now: Date.now() })
  const a = await m.create({ identifier: 'I-alice', attributes: { bucket: 'b3' } })
  await m.create({ identifier: 'I-bob', attributes: { bucket: 'b4' } })
  await assert.rejects(m.show('I-bob', a.id), /no such lease: .* is not one of yours/)
  await assert.rejects(m.revoke('I-bob', a.id), /no such lease: .* is not one of yours/)
  assert.equal(tokenActive(a.token), true)
  assert.deepEqual((await m.list('I-bob')).map((l) => l.identifier), ['I-bob'])
  assert.equal((await m.show('I-alice', a.id)).id, a.id)
  await m.revoke('I-alice', a.id)
  assert.equal(tokenActive(a.token), false)
})

test('reconcile at start revokes a credential whose lease the store knows but which expired while the outlet was down', async () => {
  const clock = { now: Date.now() }
  const m = managerAt('reconcile-outlet', clock)
  const live = await m.create({ identifier: 'I-live', attributes: { bucket: 'b5' } })
  clock.now += 30_000
  const young = await m.create({ identifier: 'I-young', attributes: { bucket: 'b6' } })
  clock.now += 40_000
  // No sweeper ran: only reconcile can end the first lease, and it must leave the second.
  assert.equal(await m.reconcile(), 1)
  assert.equal(tokenActive(live.token), false)
  assert.equal(tokenActive(young.token), true)
  assert.notEqual((await store.leases.get(live.id))?.revokedAt, null)
})

test('a lease whose store insert fails leaves no credential in the database', async () => {
  const leases: LeaseRepository = Object.create(store.leases) as LeaseRepository
  leases.insert = () => Promise.reject(new Error('disk full'))
  const m = managerAt('rollback-outlet', { now: Date.now() }, leases)
  const before = v2.authorizations.size
  await assert.rejects(m.create({ identifier: 'I-rollback', attributes: { bucket: 'b7' } }), /disk full/)
  assert.equal(v2.authorizations.size, before)
})

test('the sweeper goes on past a full batch without waiting: more than SWEEP_BATCH due leases are all revoked in one sweep', { timeout: 60_000 }, async () => {
  const clock = { now: Date.now() }
  // Sweeps an hour apart: the leases past the first batch are revoked only if the sweep goes on.
  const m = managerAt('batch-outlet', clock, store.leases, 1000, 3_600_000)
  const n = SWEEP_BATCH + 20
  const tokens: string[] = []
  for (let i = 0; i < n; i++) tokens.push((await m.create({ identifier: `I-batch-${i}`, attributes: { bucket: `b${10 + (i % 250)}` } })).token)
  clock.now += 120_000
  const sweeping = new AbortController()
  const revoked: number[] = []
  m.onRevoked = (late) => revoked.push(late)
  const done = m.sweep(sweeping.signal)
  try {
    await waitFor(() => revoked.length === n, 30_000, `all ${n} revoked (${revoked.length})`)
    assert.ok(tokens.every((t) => !tokenActive(t)))
  } finally {
    sweeping.abort()
    await done
  }
})

/** A manager with the limits and host given, on its own outlet name. */
function limited(outlet: string, o: { maxPerIdentity: number; maxTotal: number; host?: string; backend?: LeaseBackend }): LeaseManager {
  return new LeaseManager({
    outlet, owner: `test/${outlet}`, backend: o.backend ?? v2Backend(),
    leases: store.leases, log: silentLogger, orgId: v2.orgId, permissions: JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]),
    ttlSeconds: 60, maxPerIdentity: o.maxPerIdentity, maxTotal: o.maxTotal, ...(o.host !== undefined ? { host: o.host } : {})
  })
}

test('no lease while the outlet is unavailable, none past either limit; what was issued and what failed is counted; a grant carries the host and what the database granted', async () => {
  const m = limited('limits-outlet', { maxPerIdentity: 2, maxTotal: 3, host: 'influxdb.internal:8086' })
  assert.equal(m.kind, 'v2')
  m.unavailable = 'the database refuses the outlet\'s token'
  await assert.rejects(m.create({ identifier: 'I-x', attributes: { bucket: 'b20' } }), /cannot issue leases now: the database refuses/)
  m.unavailable = undefined
  const first = await m.create({ identifier: 'I-x', attributes: { bucket: 'b20' } })
  assert.equal(first.host, 'influxdb.internal:8086')
  // What the database granted: the bucket by id in the org, not the name the template had.
  assert.deepEqual(first.permissions, [{ action: 'write', resource: { type: 'buckets', id: [...v2.buckets.values()].find((b) => b.name === 'b20')?.id, name: 'b20', orgID: v2.orgId } }])
  await m.create({ identifier: 'I-x', attributes: { bucket: 'b20' } })
  await assert.rejects(m.create({ identifier: 'I-x', attributes: { bucket: 'b20' } }), /I-x already holds 2 active leases/)
  await m.create({ identifier: 'I-y', attributes: { bucket: 'b21' } })
  await assert.rejects(m.create({ identifier: 'I-z', attributes: { bucket: 'b22' } }), /the outlet holds its maximum of 3 active leases/)
  assert.deepEqual(m.stats, { issued: 3, revoked: 0, revokeFailures: 0, issueFailures: 0, issueAbandoned: 0 })
  // A bucket the database does not have: the backend refuses, and it is counted.
  const other = limited('limits-outlet-2', { maxPerIdentity: 2, maxTotal: 3 })
  await assert.rejects(other.create({ identifier: 'I-w', attributes: { bucket: 'no-such-bucket' } }))
  assert.equal(other.stats.issueFailures, 1)
  assert.equal(other.stats.issued, 0)
})

test('a holder revokes once (twice is no error and no second revocation); the view says when; no lease of another outlet or none at all', async () => {
  const m = limited('once-outlet', { maxPerIdentity: 5, maxTotal: 10 })
  const g = await m.create({ identifier: 'I-once', attributes: { bucket: 'b23' } })
  await m.revoke('I-once', g.id)
  await m.revoke('I-once', g.id)
  assert.equal(m.stats.revoked, 1)
  const shown = await m.show('I-once', g.id)
  assert.match(shown.revokedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  assert.equal(shown.identifier, 'I-once')
  await assert.rejects(m.show('I-once', 'f'.repeat(24)), /no such lease: f+ is not one of yours/)
  // Same store, same identity, another outlet: not this outlet's lease.
  const elsewhere = limited('once-outlet-2', { maxPerIdentity: 5, maxTotal: 10 })
  const h = await elsewhere.create({ identifier: 'I-once', attributes: { bucket: 'b24' } })
  await assert.rejects(m.show('I-once', h.id), /no such lease: .* is not one of yours/)
  await assert.rejects(m.revoke('I-once', h.id), /no such lease: .* is not one of yours/)
  assert.equal(tokenActive(h.token), true)
})

test('reconcile revokes our tagged credentials the store does not know, or knows under another credential, and one expiring at this very moment; another outlet\'s it leaves', async () => {
  const clock = { now: Date.now() }
  const m = managerAt('orphan-outlet', clock)
  const backend = v2Backend()
  const permissions = [{ action: 'write' as const, resource: { type: 'buckets', name: 'b25' } }]
  const issue = (leaseId: string) => backend.issue({ leaseId, identifier: 'I-orphan', expiresAt: clock.now + 60_000, lifetimeMs: 60_000, permissions })
  const unknown = await issue(`${ownerMark('test/orphan-outlet')}${'1'.repeat(16)}`)
  const theirs = await issue(`${ownerMark('test/someone-else')}${'2'.repeat(16)}`)
  const known = await m.create({ identifier: 'I-known', attributes: { bucket: 'b26' } })
  // The same lease id issued again under another credential: the one the store does not name is an orphan.
  const twin = await issue(known.id)
  const atExpiry = await m.create({ identifier: 'I-edge', attributes: { bucket: 'b27' } })
  clock.now = atExpiry.expiresAt
  const n = await m.reconcile()
  assert.equal(tokenActive(unknown.token), false)
  assert.equal(tokenActive(twin.token), false)
  assert.equal(tokenActive(atExpiry.token), false)
  assert.notEqual((await store.leases.get(atExpiry.id))?.revokedAt, null)
  assert.equal(tokenActive(theirs.token), true)
  // `known` expired too by now (same life, made earlier), so it goes as well: 4 in all.
  assert.equal(n, 4)
  await backend.revoke(theirs.backendId)
})

test('a revocation the database refuses is retried after a backoff, counted, and its error kept', async () => {
  const clock = { now: Date.now() }
  const real = v2Backend()
  const failing: LeaseBackend = Object.create(real) as LeaseBackend
  failing.revoke = () => Promise.reject(new Error('database said no'))
  const m = limited('retry-outlet', { maxPerIdentity: 5, maxTotal: 10, backend: failing })
  const mClock = managerAtBackend('retry-outlet', clock, failing)
  const g = await mClock.create({ identifier: 'I-retry', attributes: { bucket: 'b28' } })
  await mClock.revoke('I-retry', g.id)
  const l = await store.leases.get(g.id)
  assert.equal(l?.revokedAt, null)
  assert.equal(l?.lastError, 'database said no')
  assert.equal(l?.nextAttemptAt, clock.now + 500)
  assert.equal(mClock.stats.revokeFailures, 1)
  assert.equal(m.stats.revokeFailures, 0)
  // When it is due again, the sweeper tries again, and the next wait is twice as long.
  clock.now = l?.nextAttemptAt ?? NaN
  await sweepUntil(mClock, () => mClock.stats.revokeFailures === 2, 'the second attempt')
  const again = await store.leases.get(g.id)
  assert.equal(again?.revokeAttempts, 2)
  assert.equal(again?.nextAttemptAt, clock.now + 1000)
  await real.revoke(l?.backendId ?? '')
})

test('reconcile waiting out its grace for credentials the store does not know stops when its caller aborts', { timeout: 20_000 }, async () => {
  const clock = { now: Date.now() }
  const m = managerAt('grace-outlet', clock, store.leases, 10, undefined, 3_600_000)
  const backend = v2Backend()
  const unknown = await backend.issue({ leaseId: `${ownerMark('test/grace-outlet')}${'3'.repeat(16)}`, identifier: 'I-grace', expiresAt: clock.now + 60_000, lifetimeMs: 60_000, permissions: [{ action: 'write', resource: { type: 'buckets', name: 'b30' } }] })
  const stop = new AbortController()
  const reconciling = m.reconcile(stop.signal)
  await new Promise((r) => setTimeout(r, 50))
  stop.abort()
  // An hour's grace, yet the caller's abort ends it: with the abort ignored this would wait the hour.
  await assert.rejects(reconciling, { name: 'AbortError' })
  // Nothing was revoked on the way out: the credential is for a later reconcile to judge.
  assert.equal(tokenActive(unknown.token), true)
  await backend.revoke(unknown.backendId)
})

test('a deleted member\'s leases become due with the reason recorded, and the sweeper ends them at its own pace', { timeout: 20_000 }, async () => {
  const clock = { now: Date.now() }
  const m = managerAt('reason-outlet', clock, store.leases, 1000, 20)
  const g = await m.create({ identifier: 'I-gone', attributes: { bucket: 'b29' } })
  assert.equal(await m.revokeIdentity('I-gone', new AbortController().signal), 1)
  assert.equal((await store.leases.get(g.id))?.revokeReason, REVOKED_MEMBER)
  await sweepUntil(m, () => !tokenActive(g.token), 'revoked by the sweeper')
})

function managerAtBackend(outlet: string, clock: { now: number }, backend: LeaseBackend): LeaseManager {
  return new LeaseManager({
    outlet, owner: `test/${outlet}`, backend, leases: store.leases, log: silentLogger, orgId: v2.orgId,
    permissions: JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]),
    ttlSeconds: 60, maxPerIdentity: 5, maxTotal: 10, now: () => clock.now, reconcileGraceMs: TEST_RECONCILE_GRACE_MS
  })
}

test('a lease id is the owner\'s 8-hex mark and 16 random hex digits; reconcile also takes back a credential of an id from before marks (16 hex digits), and leaves ids of other shapes', async () => {
  const clock = { now: Date.now() }
  const m = managerAt('shape-outlet', clock)
  const g = await m.create({ identifier: 'I-shape', attributes: { bucket: 'b30' } })
  assert.match(g.id, new RegExp(`^${ownerMark('test/shape-outlet')}[0-9a-f]{16}$`))
  assert.equal(ownerMark('test/shape-outlet').length, 8)
  const backend = v2Backend()
  const permissions = [{ action: 'write' as const, resource: { type: 'buckets', name: 'b30' } }]
  const legacy = await backend.issue({ leaseId: 'abcdef0123456789', identifier: 'I-legacy', expiresAt: clock.now + 60_000, lifetimeMs: 60_000, permissions })
  const odd = await backend.issue({ leaseId: 'zz-not-a-lease-id', identifier: 'I-odd', expiresAt: clock.now + 60_000, lifetimeMs: 60_000, permissions })
  await m.reconcile()
  assert.equal(tokenActive(legacy.token), false)
  assert.equal(tokenActive(odd.token), true)
  assert.equal(tokenActive(g.token), true)
  await backend.revoke(odd.backendId)
})

test('outlets sharing a store: reconcile leaves a sibling\'s credential recorded during its grace, and two sweepers revoke each lease exactly once', { timeout: 30_000 }, async () => {
  const clock = { now: Date.now() }
  const revoked: string[] = []
  const counted = (): LeaseBackend => {
    const b = v2Backend()
    const revoke = b.revoke.bind(b)
    b.revoke = async (id, signal) => {
      revoked.push(id)
      await revoke(id, signal)
    }
    return b
  }
  // Siblings: one outlet name, one owner (as outlet nodes sharing a PostgreSQL store are).
  const sibling = (): LeaseManager => new LeaseManager({
    outlet: 'shared-outlet', owner: 'shared/shared-outlet', backend: counted(), leases: store.leases, log: silentLogger, orgId: v2.orgId,
    permissions: JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]),
    ttlSeconds: 60, maxPerIdentity: 500, maxTotal: 1000, now: () => clock.now, reconcileGraceMs: 500, sweepIntervalMs: 20
  })
  const [a, b] = [sibling(), sibling()]
  // A credential `a` has from the database but has not recorded yet when `b` starts and reconciles.
  const backend = counted()
  const inFlightId = `${ownerMark('shared/shared-outlet')}${'3'.repeat(16)}`
  const inFlight = await backend.issue({ leaseId: inFlightId, identifier: 'I-sib', expiresAt: clock.now + 60_000, lifetimeMs: 60_000, permissions: [{ action: 'write', resource: { type: 'buckets', name: 'b40' } }] })
  const reconciling = b.reconcile()
  await new Promise((r) => setTimeout(r, 100))
  await store.leases.insert({ id: inFlightId, identifier: 'I-sib', outlet: 'shared-outlet', backend: 'v2', backendId: inFlight.backendId, permissions: '[]', createdAt: clock.now, expiresAt: clock.now + 60_000, revokedAt: null, revokeAttempts: 0, nextAttemptAt: 0, lastError: null })
  assert.equal(await reconciling, 0)
  assert.equal(tokenActive(inFlight.token), true, 'a sibling\'s fresh lease survives reconcile')
  const grants = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).create({ identifier: `I-sib${i}`, attributes: { bucket: `b${41 + i}` } })))
  clock.now += 61_000
  const sweeping = new AbortController()
  const done = Promise.all([a.sweep(sweeping.signal), b.sweep(sweeping.signal)])
  await waitFor(() => grants.every((g) => !tokenActive(g.token)) && !tokenActive(inFlight.token), 20_000, 'every shared lease revoked')
  sweeping.abort()
  await done
  assert.equal(revoked.length, 41)
  assert.equal(new Set(revoked).size, 41, 'no lease revoked by both sweepers')
  assert.equal(a.stats.revoked + b.stats.revoked, 41)
})

test('a request waits for an issue slot for less than its caller waits for the answer, leaving time for the database', () => {
  assert.ok(MAX_ISSUE_WAIT_MS > 0 && MAX_ISSUE_WAIT_MS <= DEFAULT_RPC_TIMEOUT_MS / 2, `${MAX_ISSUE_WAIT_MS} ms of ${DEFAULT_RPC_TIMEOUT_MS}`)
})

/**
 * A manager whose database holds every issue until `release` (InfluxDB 1.x hashes each password),
 * with `issueWaitMs` for a request's wait for a slot; `issues` counts what reached the database.
 */
function behindSlowDatabase(outlet: string, issueWaitMs: number): { m: LeaseManager; release: () => void; issues: () => number } {
  const real = v2Backend()
  let release: () => void = () => undefined
  const gate = new Promise<void>((resolve) => { release = resolve })
  let issues = 0
  const slow: LeaseBackend = Object.assign(Object.create(real) as LeaseBackend, {
    issue: async (...args: Parameters<LeaseBackend['issue']>) => {
      issues++
      await gate
      return real.issue(...args)
    }
  })
  const m = new LeaseManager({
    outlet, owner: `test/${outlet}`, backend: slow, leases: store.leases, log: silentLogger, orgId: v2.orgId,
    permissions: JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: 'b3' } }]), ttlSeconds: 3600, maxPerIdentity: 5, maxTotal: 100, issueWaitMs
  })
  return { m, release: () => release(), issues: () => issues }
}

test('a request still waiting for an issue slot when its caller gives up is dropped, not issued: no lease for nobody', async () => {
  const { m, release, issues } = behindSlowDatabase('queued', 200)
  const asks = Array.from({ length: MAX_CONCURRENT_ISSUES + 1 }, (_, i) => m.create({ identifier: `I-queued-${i}`, attributes: {} }))
  const last = asks.at(-1)
  assert.ok(last !== undefined)
  await assert.rejects(last, (err: Error) => err.name === 'CallLimitError' && /waited 200 ms for its turn/.test(err.message))
  release()
  const granted = await Promise.all(asks.slice(0, -1))
  assert.equal(granted.length, MAX_CONCURRENT_ISSUES)
  assert.equal(issues(), MAX_CONCURRENT_ISSUES, 'the dropped request never reached the database')
  assert.equal(m.stats.issueAbandoned, 1)
  assert.equal(m.stats.issued, MAX_CONCURRENT_ISSUES)
  assert.equal(await store.leases.countActive('queued'), MAX_CONCURRENT_ISSUES)
})

test('a lease ready only after its caller stopped waiting is revoked at once, not left to nobody', async () => {
  const real = v2Backend()
  const slow: LeaseBackend = Object.assign(Object.create(real) as LeaseBackend, {
    issue: async (...args: Parameters<LeaseBackend['issue']>) => {
      await new Promise((r) => setTimeout(r, 300))
      return real.issue(...args)
    }
  })
  const m = new LeaseManager({
    outlet: 'late', owner: 'test/late', backend: slow, leases: store.leases, log: silentLogger, orgId: v2.orgId,
    permissions: JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: 'b4' } }]), ttlSeconds: 3600, maxPerIdentity: 5, maxTotal: 100
  })
  await assert.rejects(m.createWithin({ identifier: 'I-late', attributes: {} }, 100), (err: Error) => err.name === 'CallLimitError' && /later than its caller waits \(100 ms\); it was revoked/.test(err.message))
  assert.equal(await store.leases.countActive('late', 'I-late'), 0)
  const tokensOf = (): number => [...v2.authorizations.values()].filter((a) => a.description.includes('identity=I-late ')).length
  assert.equal(tokensOf(), 0, 'no token left in the database')
  assert.equal(m.stats.issueAbandoned, 1)
  assert.equal(m.stats.revoked, 1)
  // A caller that waits long enough gets its lease.
  const grant = await m.createWithin({ identifier: 'I-late', attributes: {} }, 10_000)
  assert.equal(await store.leases.countActive('late', 'I-late'), 1)
  assert.ok(grant.id.length > 0)
  assert.equal(tokensOf(), 1)
})

test('reconcile ends a credential whose lease the store holds revoked, and a second credential under a live lease\'s id, and leaves the live one', async () => {
  const clock = { now: Date.now() }
  const m = managerAt('twin-outlet', clock)
  const backend = v2Backend()
  const live = await m.create({ identifier: 'I-twin', attributes: { bucket: 'b40' } })
  const twin = await backend.issue({ leaseId: live.id, identifier: 'I-twin', expiresAt: clock.now + 60_000, lifetimeMs: 60_000, permissions: [{ action: 'write', resource: { type: 'buckets', name: 'b40' } }] })
  // Revoked in the store, but its credential was never removed (a crash between the two).
  const halfRevoked = await m.create({ identifier: 'I-half', attributes: { bucket: 'b41' } })
  await store.leases.markRevoked(halfRevoked.id, clock.now)
  assert.equal(await m.reconcile(), 2)
  assert.equal(tokenActive(twin.token), false)
  assert.equal(tokenActive(halfRevoked.token), false)
  assert.equal(tokenActive(live.token), true)
  await m.revoke('I-twin', live.id)
})

test('a lease issued while its holder is being deleted is due at once, like the holder\'s others', async () => {
  const clock = { now: Date.now() }
  const real = v2Backend()
  let release: (() => void) | undefined
  const slow: LeaseBackend = Object.create(real) as LeaseBackend
  slow.issue = async (...args) => {
    await new Promise<void>((r) => { release = r })
    return real.issue(...args)
  }
  const m = new LeaseManager({
    outlet: 'inflight-outlet', owner: 'test/inflight-outlet', backend: slow, leases: store.leases, log: silentLogger, orgId: v2.orgId,
    permissions: JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]), ttlSeconds: 60, maxPerIdentity: 5, maxTotal: 100, now: () => clock.now
  })
  const issuing = m.create({ identifier: 'I-leaving', attributes: { bucket: 'b42' } })
  await waitFor(() => release !== undefined, 5000, 'the issue under way')
  clock.now += 1
  assert.equal(await m.revokeIdentity('I-leaving', new AbortController().signal), 0)
  release?.()
  const g = await issuing
  const l = await store.leases.get(g.id)
  assert.equal(l?.revokeReason, REVOKED_MEMBER)
  assert.ok((l?.expiresAt ?? Infinity) <= clock.now)
  await real.revoke(l?.backendId ?? '')
})

test('lease admins: every holder\'s leases listed, one identity\'s ended; a deleted outlet issues no more and ends all of its own', async () => {
  const clock = { now: Date.now() }
  const m = managerAt('admin-outlet', clock)
  const a = await m.create({ identifier: 'I-a', attributes: { bucket: 'b43' } })
  const b = await m.create({ identifier: 'I-b', attributes: { bucket: 'b44' } })
  assert.equal(a.expiresInMs, 60_000)
  assert.deepEqual((await m.listAll()).map((l) => l.identifier).sort(), ['I-a', 'I-b'])
  assert.equal(await m.revokeAllOf('I-a', 'I-admin'), 1)
  assert.equal((await store.leases.get(a.id))?.revokeReason, REVOKED_BY_ADMIN)
  assert.equal((await store.leases.get(b.id))?.revokeReason ?? null, null)
  assert.equal(await m.retire(), 1)
  assert.equal((await store.leases.get(b.id))?.revokeReason, OUTLET_DELETED)
  await assert.rejects(m.create({ identifier: 'I-c', attributes: { bucket: 'b45' } }), (e: unknown) => e instanceof OutletNotReadyError && /the outlet was deleted/.test(e.message))
  // The sweeper ends what became due, each with the reason it was given.
  await sweepUntil(m, () => !tokenActive(a.token) && !tokenActive(b.token), 'both revoked by the sweeper')
  assert.equal((await store.leases.get(b.id))?.revokeReason, OUTLET_DELETED)
})

test('a sweep that fails (the store away for a moment) is tried again at the next interval: the sweeper does not stop', { timeout: 20_000 }, async () => {
  const clock = { now: Date.now() }
  let failures = 2
  const leases: LeaseRepository = Object.create(store.leases) as LeaseRepository
  leases.claimDue = async (...args) => {
    if (failures-- > 0) throw new Error('database connection lost')
    return store.leases.claimDue(...args)
  }
  const m = managerAt('sweep-retry-outlet', clock, leases, 1000, 20)
  const g = await m.create({ identifier: 'I-sweep', attributes: { bucket: 'b46' } })
  clock.now += 61_000
  await sweepUntil(m, () => !tokenActive(g.token), 'revoked once the store is back')
  assert.ok(failures < 0, 'the failing sweeps were tried')
})

test('a caller that gives up while its request waits for an issue slot is let go at once, and nothing is issued for it', { timeout: 20_000 }, async () => {
  const { m, release, issues } = behindSlowDatabase('given-up', 60_000)
  const busy = Array.from({ length: MAX_CONCURRENT_ISSUES }, (_, i) => m.create({ identifier: `I-busy-${i}`, attributes: {} }))
  const caller = new AbortController()
  const queued = m.create({ identifier: 'I-gives-up', attributes: {} }, caller.signal)
  caller.abort()
  await assert.rejects(queued, (err: Error) => err.name !== 'CallLimitError')
  assert.equal(m.stats.issueAbandoned, 0, 'a caller that left is not a request the outlet dropped')
  release()
  await Promise.all(busy)
  assert.equal(issues(), MAX_CONCURRENT_ISSUES)
})
