// The store compliance suite: every Store implementation (SQLite, PostgreSQL) must pass it.
// `freshUrl` gives the URL of a new, empty store each time it is called.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { openStore } from '../../src/store/open-store.js'
import { MIGRATIONS } from '../../src/store/migrations.js'
import { TicketRejectedError, type LeaseRecord, type Store, type TicketRecord } from '../../src/store/store.js'
import type { TestSetup } from './setup.js'

const NOW = 1_800_000_000

function ticket(over: Partial<TicketRecord> = {}): TicketRecord {
  return { codeHash: 'aa'.repeat(32), attributes: { site: 'a' }, role: 'member', usesLeft: 1, expiresAt: NOW + 600, createdAt: NOW, createdBy: 'Iadmin', ...over }
}

const lease = (id: string, identifier: string, expiresAt: number, outlet = 'influxdb'): LeaseRecord => ({
  id, identifier, outlet, backend: 'v2', backendId: `auth-${id}`, permissions: '[]', createdAt: NOW, expiresAt,
  revokedAt: null, revokeAttempts: 0, nextAttemptAt: 0, lastError: null
})

const role = (s: Store, id: string): Promise<string | undefined> => s.members.get(id).then((m) => m?.role)

export function storeCompliance(name: string, freshUrl: TestSetup<string>): void {
  describe(`store compliance: ${name}`, () => {
    let store: Store
    before(async () => { store = await openStore(await freshUrl()) })
    after(async () => { await store.close() })

    test('migrations are versioned and idempotent; a store an earlier release left is brought up to date, leases kept', async () => {
      assert.equal(await store.schemaVersion(), MIGRATIONS.at(-1)?.version)
      const url = await freshUrl()
      const old = await openStore(url, MIGRATIONS.filter((m) => m.version <= 2))
      assert.equal(await old.schemaVersion(), 2)
      await old.leases.insert({ id: 'kept', identifier: 'Ia', outlet: 'influxdb', backend: 'v1', backendId: 'portico_lease_kept', permissions: '[]', createdAt: NOW, expiresAt: NOW + 5, revokedAt: null, revokeAttempts: 0, nextAttemptAt: 0, lastError: null })
      await old.close()
      for (let i = 0; i < 2; i++) {
        const current = await openStore(url)
        assert.equal(await current.schemaVersion(), MIGRATIONS.at(-1)?.version)
        assert.deepEqual((await current.leases.due('influxdb', NOW + 10, 10)).map((l) => l.id), ['kept'])
        await current.close()
      }
    })

    test('members: put, get, list in pages, count, delete records a revocation', async () => {
      for (let i = 0; i < 5; i++) await store.members.put({ identifier: `I${i}`, attributes: { n: String(i) }, role: 'member', addedAt: NOW, addedBy: null })
      assert.deepEqual((await store.members.get('I3'))?.attributes, { n: '3' })
      assert.equal(await store.members.count(), 5)
      const page = await store.members.list({ limit: 2, after: 'I1' })
      assert.deepEqual(page.map((m) => m.identifier), ['I2', 'I3'])
      assert.equal(await store.members.delete('I3', NOW + 5), true)
      assert.equal(await store.members.delete('I3', NOW + 6), false)
      assert.equal(await store.members.get('I3'), undefined)
      assert.deepEqual(await store.revocations.list(), [{ identifier: 'I3', revokedAt: NOW + 5 }])
      // Re-adding a revoked identity clears its revocation.
      await store.members.put({ identifier: 'I3', attributes: {}, role: 'member', addedAt: NOW, addedBy: null })
      assert.deepEqual(await store.revocations.list(), [])
      assert.equal(await store.revocations.prune(NOW + 100), 0)
    })

    test('tickets: outstanding ones are listed (all, or one creator\'s) and revoked by an id prefix, never a used or expired one', async () => {
      await store.tickets.create(ticket({ codeHash: 'a1'.repeat(32), createdBy: 'Iadmin', createdAt: NOW }))
      await store.tickets.create(ticket({ codeHash: 'b2'.repeat(32), createdBy: 'Ienroller', createdAt: NOW + 1 }))
      await store.tickets.create(ticket({ codeHash: 'c3'.repeat(32), createdBy: 'Iadmin', createdAt: NOW + 2, expiresAt: NOW + 3 }))
      assert.deepEqual((await store.tickets.outstanding(NOW + 5, 10)).map((t) => t.codeHash.slice(0, 2)), ['a1', 'b2'], 'the expired one is not outstanding')
      assert.deepEqual((await store.tickets.outstanding(NOW + 5, 10, 'Ienroller')).map((t) => t.createdBy), ['Ienroller'])
      assert.equal((await store.tickets.outstanding(NOW + 5, 1)).length, 1)
      assert.equal(await store.tickets.revoke('a1'.repeat(8), 'Ienroller'), false, 'an enroller revokes only its own')
      assert.equal(await store.tickets.revoke('a1'.repeat(8)), true)
      assert.equal(await store.tickets.revoke('a1'.repeat(8)), false)
      assert.equal(await store.tickets.revoke("a1%' OR 1=1 --"), false, 'only hex reaches the pattern')
      assert.equal(await store.tickets.revoke('b2'), false, 'too short an id')
      await assert.rejects(store.tickets.redeem('a1'.repeat(32), 'Ix', NOW + 5), /not known/)
      assert.deepEqual((await store.tickets.outstanding(NOW + 5, 10)).map((t) => t.codeHash.slice(0, 2)), ['b2'])
    })

    test('tickets: redeem makes a member, never lowers a role, and refuses reuse, expiry and unknown codes', async () => {
      await store.tickets.create(ticket({ codeHash: '01'.repeat(32), attributes: { 'influxdb-inlet': 'true' } }))
      const m = await store.tickets.redeem('01'.repeat(32), 'Idevice', NOW)
      assert.deepEqual(m.attributes, { 'influxdb-inlet': 'true' })
      await assert.rejects(store.tickets.redeem('01'.repeat(32), 'Iother', NOW), /already been used/)
      await store.tickets.create(ticket({ codeHash: '02'.repeat(32), expiresAt: NOW }))
      await assert.rejects(store.tickets.redeem('02'.repeat(32), 'Iother', NOW), /expired/)
      await assert.rejects(store.tickets.redeem('03'.repeat(32), 'Iother', NOW), TicketRejectedError)
      assert.equal(await store.members.get('Iother'), undefined)
      await store.members.put({ identifier: 'Iboss', attributes: {}, role: 'admin', addedAt: NOW, addedBy: null })
      await store.tickets.create(ticket({ codeHash: '04'.repeat(32) }))
      await store.tickets.redeem('04'.repeat(32), 'Iboss', NOW)
      assert.equal(await role(store, 'Iboss'), 'admin')
      assert.equal(await store.tickets.prune(NOW + 1), 3)
    })

    test('an enroller ticket\'s scope becomes its redeemer\'s, and survives in the store', async () => {
      await store.tickets.create(ticket({ codeHash: '07'.repeat(32), role: 'enroller', mayGrant: ['influxdb-inlet=true', 'bucket=*'] }))
      const m = await store.tickets.redeem('07'.repeat(32), 'Iscoped', NOW)
      assert.deepEqual(m.mayGrant, ['influxdb-inlet=true', 'bucket=*'])
      assert.deepEqual((await store.members.get('Iscoped'))?.mayGrant, ['influxdb-inlet=true', 'bucket=*'])
      await store.tickets.create(ticket({ codeHash: '08'.repeat(32) }))
      await store.tickets.redeem('08'.repeat(32), 'Iscoped', NOW)
      assert.deepEqual((await store.members.get('Iscoped'))?.mayGrant, ['influxdb-inlet=true', 'bucket=*'], 'a member ticket keeps the enroller\'s scope')
      assert.equal((await store.members.get('Idevice'))?.mayGrant, undefined)
    })

    test('50 concurrent redemptions of a one-use ticket make exactly one member', async () => {
      await store.tickets.create(ticket({ codeHash: '05'.repeat(32) }))
      const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => store.tickets.redeem('05'.repeat(32), `Irace${String(i).padStart(2, '0')}`, NOW)))
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
      const members = (await store.members.list()).filter((m) => m.identifier.startsWith('Irace'))
      assert.equal(members.length, 1)
    })

    test('a three-use ticket admits exactly three of many', async () => {
      await store.tickets.create(ticket({ codeHash: '06'.repeat(32), usesLeft: 3 }))
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.tickets.redeem('06'.repeat(32), `Ithree${i}`, NOW)))
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3)
    })

    test('project: the first of concurrent claims binds the store, every claimer reads the winner; replicas are kept fresh, listed in start order and forgotten', async () => {
      const url = await freshUrl()
      // Replicas start together on one PostgreSQL database; SQLite has one node per file.
      const stores = store.kind === 'postgres' ? await Promise.all([0, 1, 2].map(() => openStore(url))) : [await openStore(url), await openStore(url), await openStore(url)]
      try {
        assert.equal(await stores[0]?.project.get(), undefined)
        const claims = await Promise.all(stores.map((s, i) => s.project.claim({ name: `p${i}`, authority: `I${i}`, createdAt: NOW + i })))
        const winner = claims[0]
        assert.ok(winner !== undefined && claims.every((c) => c.name === winner.name && c.authority === winner.authority))
        assert.deepEqual(await stores[2]?.project.get(), winner)
        const [a, b] = stores
        await a?.project.seen('/ip4/127.0.0.1/tcp/2', NOW + 5, true)
        await b?.project.seen('/ip4/127.0.0.1/tcp/1', NOW + 1, true)
        // A heartbeat moves seen, never started: the order stays the order of starts.
        await b?.project.seen('/ip4/127.0.0.1/tcp/1', NOW + 60, false)
        assert.deepEqual((await a?.project.replicas(NOW))?.map((r) => [r.route, r.startedAt, r.seenAt]), [['/ip4/127.0.0.1/tcp/1', NOW + 1, NOW + 60], ['/ip4/127.0.0.1/tcp/2', NOW + 5, NOW + 5]])
        assert.deepEqual((await a?.project.replicas(NOW + 10))?.map((r) => r.route), ['/ip4/127.0.0.1/tcp/1'])
        assert.equal(await a?.project.forget('/ip4/127.0.0.1/tcp/1'), true)
        assert.equal(await a?.project.forget('/ip4/127.0.0.1/tcp/1'), false)
        assert.deepEqual((await b?.project.replicas(0))?.map((r) => r.route), ['/ip4/127.0.0.1/tcp/2'])
      } finally {
        for (const s of stores) await s.close()
      }
    })

    test('policies: set replaces, list is ordered, delete', async () => {
      await store.policies.set({ resource: 'tcp-outlet', expression: 'a', updatedAt: NOW })
      await store.policies.set({ resource: 'echo', expression: 'b', updatedAt: NOW })
      await store.policies.set({ resource: 'tcp-outlet', expression: 'c', updatedAt: NOW + 1 })
      assert.deepEqual((await store.policies.list()).map((p) => [p.resource, p.expression]), [['echo', 'b'], ['tcp-outlet', 'c']])
      assert.equal(await store.policies.delete('echo'), true)
      assert.equal(await store.policies.get('echo'), undefined)
    })

    test('leases: active, due in expiry order, failures back off, revoked leave the active set, identity expiry; each outlet sees only its own', async () => {
      await store.leases.insert(lease('l1', 'Ia', NOW + 10))
      await store.leases.insert(lease('l2', 'Ia', NOW + 5))
      await store.leases.insert(lease('l3', 'Ib', NOW + 1000))
      // Another outlet of the same node, with its own database: never counted, swept or expired with the first.
      await store.leases.insert(lease('o1', 'Ia', NOW + 1, 'analysts'))
      await store.leases.insert(lease('o2', 'Ib', NOW + 1000, 'analysts'))
      assert.equal(await store.leases.countActive('influxdb'), 3)
      assert.equal(await store.leases.countActive('influxdb', 'Ia'), 2)
      assert.equal(await store.leases.countActive('analysts', 'Ia'), 1)
      assert.deepEqual((await store.leases.due('influxdb', NOW + 20, 10)).map((l) => l.id), ['l2', 'l1'])
      assert.deepEqual((await store.leases.due('analysts', NOW + 20, 10)).map((l) => l.id), ['o1'])
      await store.leases.markFailed('l2', 'backend down', NOW + 30)
      assert.deepEqual((await store.leases.due('influxdb', NOW + 20, 10)).map((l) => l.id), ['l1'])
      assert.equal((await store.leases.get('l2'))?.revokeAttempts, 1)
      await store.leases.markRevoked('l1', NOW + 21)
      assert.deepEqual((await store.leases.active('influxdb', 'Ia')).map((l) => l.id), ['l2'])
      assert.equal(await store.leases.expireIdentity('influxdb', 'Ib', NOW + 22, 'member deleted'), 1)
      assert.deepEqual((await store.leases.due('influxdb', NOW + 22, 10)).map((l) => [l.id, l.revokeReason]), [['l3', 'member deleted']])
      assert.equal((await store.leases.get('l2'))?.revokeReason, undefined)
      assert.deepEqual((await store.leases.active('analysts', 'Ib')).map((l) => l.expiresAt), [NOW + 1000])
      // A deleted outlet: all its live leases due now, the other outlet's untouched, revoked ones left alone.
      assert.equal(await store.leases.expireOutlet('analysts', NOW + 23, 'outlet deleted'), 1, 'o1 had expired already')
      assert.deepEqual((await store.leases.due('analysts', NOW + 23, 10)).map((l) => [l.id, l.revokeReason ?? null]), [['o1', null], ['o2', 'outlet deleted']])
      assert.equal(await store.leases.expireOutlet('analysts', NOW + 24, 'outlet deleted'), 0)
      assert.equal((await store.leases.get('l3'))?.revokeReason, 'member deleted')
      // One lease its holder ends: due now and held for the caller; not again, and not one past expiry or revoked.
      await store.leases.insert(lease('h1', 'Ih', NOW + 1000, 'analysts'))
      assert.equal(await store.leases.expireLease('h1', NOW + 25, 'revoked by its holder', NOW + 40), true)
      const h1 = await store.leases.get('h1')
      assert.deepEqual([h1?.expiresAt, h1?.nextAttemptAt, h1?.revokeReason], [NOW + 25, NOW + 40, 'revoked by its holder'])
      assert.deepEqual((await store.leases.due('analysts', NOW + 39, 10)).map((l) => l.id), ['o1', 'o2'], 'held until NOW + 40')
      assert.deepEqual((await store.leases.due('analysts', NOW + 40, 10)).map((l) => l.id), ['o1', 'o2', 'h1'])
      assert.equal(await store.leases.expireLease('h1', NOW + 26, 'revoked by its holder', NOW + 41), false)
      assert.equal(await store.leases.expireLease('l1', NOW + 26, 'revoked by its holder', NOW + 41), false, 'l1 is revoked')
      assert.equal(await store.leases.expireLease('nope', NOW + 26, 'revoked by its holder', NOW + 41), false)
    })

    test('leases: sweepers sharing the store claim due leases without overlap; a claim held past its time is taken again', async () => {
      const url = await freshUrl()
      // Outlet nodes share one PostgreSQL database; a SQLite file has one node, whose sweeps may still overlap.
      const stores = store.kind === 'postgres' ? await Promise.all([0, 1, 2].map(() => openStore(url))) : [await openStore(url)]
      try {
        const [first] = stores
        for (let i = 0; i < 60; i++) await first?.leases.insert(lease(`c${String(i).padStart(2, '0')}`, `I${i % 7}`, NOW + i, 'shared'))
        await first?.leases.insert(lease('later', 'Ix', NOW + 1000, 'shared'))
        const claims = await Promise.all(stores.flatMap((s) => [s, s].map((t) => t.leases.claimDue('shared', NOW + 100, 40, NOW + 130))))
        const ids = claims.flat().map((l) => l.id)
        assert.equal(ids.length, 60, 'every due lease claimed')
        assert.equal(new Set(ids).size, 60, 'no lease claimed twice')
        for (const c of claims) assert.deepEqual(c.map((l) => l.expiresAt), [...c.map((l) => l.expiresAt)].sort((a, b) => a - b))
        assert.deepEqual(await first?.leases.claimDue('shared', NOW + 120, 100, NOW + 150), [], 'held until their claim ends')
        const again = await first?.leases.claimDue('shared', NOW + 130, 100, NOW + 160)
        assert.equal(again?.length, 60, 'a sweeper that died holding them leaves them to the next')
        await first?.leases.markRevoked('c00', NOW + 131)
        assert.equal((await first?.leases.claimDue('shared', NOW + 200, 100, NOW + 230))?.some((l) => l.id === 'c00'), false)
      } finally {
        for (const s of stores) await s.close()
      }
    })

    test('a failed transaction leaves the store unchanged', async () => {
      const before = await store.members.count()
      await assert.rejects(store.tickets.redeem('ff'.repeat(32), 'Inobody', NOW))
      assert.equal(await store.members.count(), before)
    })
  })
}
