import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { LeaseManager, SWEEP_BATCH } from '../../src/influxdb/lease-manager.js'
import { V2Backend } from '../../src/influxdb/v2-backend.js'
import { openStore } from '../../src/store/open-store.js'
import type { LeaseRepository } from '../../src/store/store.js'
import { silentLogger } from '../../src/log/logger.js'
import { startV2Emulator } from '../support/influx-v2-emulator.js'
import { waitFor } from '../helpers.js'

// The lease manager over a real store (SQLite) and the contract-checked v2 emulator.

const v2 = await startV2Emulator({ buckets: Array.from({ length: 300 }, (_, i) => `b${i}`) })
const store = await openStore('sqlite::memory:')
after(async () => {
  await store.close()
  await v2.close()
})

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
    outlet, owner: `test/${outlet}`, backend: new V2Backend({ endpoint: { to: v2.address, tls: false }, orgId: v2.orgId, allAccessToken: v2.allAccessToken }),
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

/** A manager on its own outlet name, with a clock the test moves. */
function managerAt(outlet: string, clock: { now: number }, leases: LeaseRepository = store.leases, maxTotal = 1000, sweepIntervalMs?: number): LeaseManager {
  return new LeaseManager({
    outlet, owner: `test/${outlet}`, backend: new V2Backend({ endpoint: { to: v2.address, tls: false }, orgId: v2.orgId, allAccessToken: v2.allAccessToken }),
    leases, log: silentLogger, orgId: v2.orgId, permissions: JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]),
    ttlSeconds: 60, maxPerIdentity: 500, maxTotal, now: () => clock.now, ...(sweepIntervalMs !== undefined ? { sweepIntervalMs } : {})
  })
}
const tokenActive = (token: string): boolean => [...v2.authorizations.values()].some((a) => a.token === token)

test('a member sees, shows and revokes only its own leases: another\'s is no lease at all to it', async () => {
  const m = managerAt('own-outlet', { now: Date.now() })
  const a = await m.create({ identifier: 'I-alice', attributes: { bucket: 'b3' } })
  await m.create({ identifier: 'I-bob', attributes: { bucket: 'b4' } })
  await assert.rejects(m.show('I-bob', a.id), /no lease .* of yours/)
  await assert.rejects(m.revoke('I-bob', a.id), /no lease .* of yours/)
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
