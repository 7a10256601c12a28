import { test } from 'node:test'
import type { LeaseGrant } from '../../src/influxdb/leases/lease-types.js'
import assert from 'node:assert/strict'
import { EXPIRY_MARGIN_MS, LEASE_RETRY_MAX_MS, LEASE_RETRY_MIN_MS, LeaseKeeper, LeaseUnavailableError, MAX_KEPT_LEASES, RENEW_AT_FRACTION, REPLACE_AFTER_401_MIN_MS } from '../../src/influxdb/inlet/lease-keeper.js'
import { silentLogger } from '../../src/log/logger.js'
import { TEST_PERMISSIONS } from '../support/test-grants.js'

const LIFE_MS = 300_000

/** A lease manager stand-in: each call is answered (or refused) by the test, in order. */
function manager(now: () => number): { obtain: () => Promise<LeaseGrant>; calls: number; answer(): void; refuse(): void } {
  const waiting: { resolve: (g: LeaseGrant) => void; reject: (e: Error) => void }[] = []
  const m = {
    calls: 0,
    obtain: (): Promise<LeaseGrant> => {
      m.calls++
      return new Promise<LeaseGrant>((resolve, reject) => waiting.push({ resolve, reject }))
    },
    answer(): void {
      const n = m.calls
      waiting.shift()?.resolve({ id: `lease-${n}`, expiresAt: now() + LIFE_MS, expiresInMs: LIFE_MS, authorization: `Token t${n}`, token: `t${n}`, backend: 'v2', permissions: TEST_PERMISSIONS })
    },
    refuse(): void {
      waiting.shift()?.reject(new Error('lease manager unreachable'))
    }
  }
  return m
}

/** Lets the keeper's promise callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A keeper on a clock of the test's own, with a manager the test answers. */
function keeperOnClock(): { clock: { now: number }; m: ReturnType<typeof manager>; keeper: LeaseKeeper } {
  const clock = { now: 1_000_000 }
  const m = manager(() => clock.now)
  return { clock, m, keeper: new LeaseKeeper(m.obtain, silentLogger, () => clock.now) }
}

/** The same, holding its first lease (`lease-1`). */
async function keeperWithLease(): Promise<ReturnType<typeof keeperOnClock>> {
  const k = keeperOnClock()
  const first = k.keeper.get('shared')
  k.m.answer()
  assert.equal((await first).id, 'lease-1')
  return k
}

test('one fetch serves every request that waits for the first lease', async () => {
  const { clock, m, keeper } = keeperOnClock()
  const waiting = [keeper.get('shared'), keeper.get('shared'), keeper.get('shared')]
  assert.equal(m.calls, 1)
  m.answer()
  const grants = await Promise.all(waiting)
  assert.deepEqual(grants.map((g) => g.id), ['lease-1', 'lease-1', 'lease-1'])
  clock.now += LIFE_MS / 2
  assert.equal((await keeper.get('shared')).id, 'lease-1')
  assert.equal(m.calls, 1, 'a lease in the first 2/3 of its life was fetched again')
})

test('at 2/3 of its life a lease is renewed once, in the background; requests keep the old one until the new one is there', async () => {
  const { clock, m, keeper } = await keeperWithLease()
  clock.now += Math.floor(LIFE_MS * RENEW_AT_FRACTION) - 1
  assert.equal((await keeper.get('shared')).id, 'lease-1')
  assert.equal(m.calls, 1, 'renewed before 2/3 of the life')
  clock.now += 1
  // Renewing: the old lease still has a third of its life, so nobody waits for the new one.
  assert.equal((await keeper.get('shared')).id, 'lease-1')
  assert.equal((await keeper.get('shared')).id, 'lease-1')
  assert.equal(m.calls, 2, 'one renewal, however many requests came meanwhile')
  m.answer()
  await settle()
  assert.equal((await keeper.get('shared')).id, 'lease-2')
  assert.equal(keeper.renewals, 2)
})

test('a lease is timed by the life it had left when sent and the inlet\'s clock, whatever the outlet\'s clock says', async () => {
  for (const skewMs of [-3_600_000, 3_600_000]) {
    const clock = { now: 1_000_000_000 }
    let n = 0
    const keeper = new LeaseKeeper(() => Promise.resolve<LeaseGrant>({
      id: `lease-${++n}`, expiresAt: clock.now + skewMs + LIFE_MS, expiresInMs: LIFE_MS, authorization: 'Token t', token: 't', backend: 'v2', permissions: TEST_PERMISSIONS
    }), silentLogger, () => clock.now)
    assert.equal((await keeper.get('shared')).id, 'lease-1')
    assert.equal(keeper.unavailable('shared'), undefined, `an outlet clock ${skewMs} ms off made a fresh lease unusable`)
    clock.now += Math.floor(LIFE_MS * RENEW_AT_FRACTION) - 1
    assert.equal((await keeper.get('shared')).id, 'lease-1', `renewed early with an outlet clock ${skewMs} ms off`)
    clock.now += 1
    await keeper.get('shared')
    await settle()
    assert.equal(n, 2, `not renewed at 2/3 of its life with an outlet clock ${skewMs} ms off`)
  }
})

test('a failed renewal leaves the current lease in use and is tried again after a backoff, not by every request', async () => {
  const { clock, m, keeper } = await keeperWithLease()
  clock.now += Math.ceil(LIFE_MS * RENEW_AT_FRACTION)
  assert.equal((await keeper.get('shared')).id, 'lease-1')
  m.refuse()
  await settle()
  const wait = keeper.retryAfterMs('shared') ?? NaN
  assert.ok(wait >= LEASE_RETRY_MIN_MS && wait <= LEASE_RETRY_MAX_MS, `retry in ${wait} ms`)
  for (let i = 0; i < 5; i++) assert.equal((await keeper.get('shared')).id, 'lease-1')
  assert.equal(m.calls, 2, 'the renewal was tried again before its backoff was over')
  clock.now += wait - 1
  assert.equal((await keeper.get('shared')).id, 'lease-1')
  assert.equal(m.calls, 2, 'the renewal was tried again before its backoff was over')
  clock.now += 1
  assert.equal((await keeper.get('shared')).id, 'lease-1')
  assert.equal(m.calls, 3, 'the renewal was not tried again once due')
  m.answer()
  await settle()
  assert.equal((await keeper.get('shared')).id, 'lease-3')
  assert.equal(keeper.retryAfterMs('shared'), undefined, 'a success still counts the earlier failure')
})

test('a key without a lease whose request failed is refused at once, with the reason, until its next attempt is due', async (t) => {
  // The backoff's jitter at its top, so the growth of the delays is exact.
  t.mock.method(Math, 'random', () => 0.999)
  const { clock, m, keeper } = keeperOnClock()
  const first = keeper.get('shared')
  m.refuse()
  await assert.rejects(first, /lease manager unreachable/)
  const wait = keeper.retryAfterMs('shared') ?? NaN
  assert.ok(wait >= LEASE_RETRY_MIN_MS && wait <= LEASE_RETRY_MAX_MS, `retry in ${wait} ms`)
  for (let i = 0; i < 3; i++) {
    await assert.rejects(keeper.get('shared'), (err: unknown) => {
      assert.ok(err instanceof LeaseUnavailableError)
      assert.match(err.message, /^lease manager unreachable \(next attempt in \d+ ms\)$/)
      assert.equal(err.retryAfterMs, wait)
      return true
    })
  }
  assert.equal(m.calls, 1, 'asked again before the backoff was over')
  // Other keys are not held back by this one's failure.
  const other = keeper.get('10.0.0.2')
  assert.equal(m.calls, 2)
  m.answer()
  assert.equal((await other).id, 'lease-2')
  // The delay grows with each failure in a row, up to the cap.
  const waits = [wait]
  for (let i = 0; i < 8; i++) {
    clock.now += waits.at(-1) ?? 0
    const next = keeper.get('shared')
    m.refuse()
    await assert.rejects(next, /lease manager unreachable$/)
    waits.push(keeper.retryAfterMs('shared') ?? NaN)
  }
  assert.equal(m.calls, 10)
  assert.deepEqual(waits, [250, 499, 999, 1998, 3996, 4995, 4995, 4995, 4995])
  assert.ok(waits.every((w) => w >= LEASE_RETRY_MIN_MS && w <= LEASE_RETRY_MAX_MS))
  clock.now += LEASE_RETRY_MAX_MS
  const last = keeper.get('shared')
  m.answer()
  assert.equal((await last).id, 'lease-11')
  assert.equal(keeper.retryAfterMs('shared'), undefined)
})

test('a lease about to expire is never handed out: the request waits for a new one', async () => {
  const { clock, m, keeper } = await keeperWithLease()
  // No request came during the renewal window; the lease has less than the margin left.
  clock.now += LIFE_MS - EXPIRY_MARGIN_MS + 1
  const next = keeper.get('shared')
  m.answer()
  assert.equal((await next).id, 'lease-2')
})

test('after a 401 the refused lease is dropped, but a newer one is kept', async () => {
  const { m, keeper } = await keeperWithLease()
  keeper.invalidate('shared', 'some-older-lease')
  assert.equal((await keeper.get('shared')).id, 'lease-1', 'a 401 for an older lease dropped the current one')
  keeper.invalidate('shared', 'lease-1')
  const next = keeper.get('shared')
  assert.equal(m.calls, 2)
  m.answer()
  assert.equal((await next).id, 'lease-2')
})

test('a database that refuses every lease gets one replacement a minute, not one per request', async () => {
  const { clock, m, keeper } = await keeperWithLease()
  assert.equal(keeper.invalidate('shared', 'lease-1'), true)
  const second = keeper.get('shared')
  m.answer()
  assert.equal((await second).id, 'lease-2')
  // Refused again at once: kept, and no third lease is asked for, however many requests fail.
  for (let i = 0; i < 10; i++) assert.equal(keeper.invalidate('shared', 'lease-2'), false)
  assert.equal((await keeper.get('shared')).id, 'lease-2')
  assert.equal(m.calls, 2)
  clock.now += REPLACE_AFTER_401_MIN_MS
  assert.equal(keeper.invalidate('shared', 'lease-2'), true)
  const third = keeper.get('shared')
  m.answer()
  assert.equal((await third).id, 'lease-3')
})

test('per-client keys get leases of their own, and at most MAX_KEPT_LEASES are kept (the oldest goes first)', async () => {
  const now = 1_000_000
  let n = 0
  const keeper = new LeaseKeeper(() => Promise.resolve({ id: `lease-${++n}`, expiresAt: now + LIFE_MS, expiresInMs: LIFE_MS, authorization: 'Token t', token: 't', backend: 'v2', permissions: TEST_PERMISSIONS }), silentLogger, () => now)
  assert.notEqual((await keeper.get('10.0.0.1')).id, (await keeper.get('10.0.0.2')).id)
  for (let i = 0; i < MAX_KEPT_LEASES; i++) await keeper.get(`client-${i}`)
  const kept = keeper.current()
  assert.equal(kept.length, MAX_KEPT_LEASES)
  assert.ok(!kept.some((k) => k.key === '10.0.0.1' || k.key === '10.0.0.2'), 'the oldest clients were not the ones dropped')
  assert.ok(kept.some((k) => k.key === `client-${MAX_KEPT_LEASES - 1}`))
  assert.equal(keeper.current().find((k) => k.key === 'client-0')?.expiresAt, new Date(now + LIFE_MS).toISOString())
})

test('failures are remembered for at most MAX_KEPT_LEASES keys (the oldest is forgotten first)', async () => {
  let calls = 0
  const keeper = new LeaseKeeper(() => { calls++; return Promise.reject(new Error('refused')) }, silentLogger, () => 1_000_000)
  for (let i = 0; i <= MAX_KEPT_LEASES; i++) await assert.rejects(keeper.get(`client-${i}`), /^Error: refused$|refused/)
  assert.equal(calls, MAX_KEPT_LEASES + 1)
  await assert.rejects(keeper.get(`client-${MAX_KEPT_LEASES}`), LeaseUnavailableError)
  assert.equal(keeper.retryAfterMs('client-0'), undefined)
  await assert.rejects(keeper.get('client-0'), /^refused$|refused/)
  assert.equal(calls, MAX_KEPT_LEASES + 2, 'the oldest failure was still holding its key back')
})
