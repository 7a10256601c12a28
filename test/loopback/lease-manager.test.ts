import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { LeaseManager } from '../../src/influxdb/lease-manager.js'
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
