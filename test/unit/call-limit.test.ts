import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CallLimit, CallLimitError } from '../../src/influxdb/leases/call-limit.js'

/** A call that runs until the test lets it finish. */
function held(): { promise: Promise<void>; finish: () => void; started: boolean; run: () => Promise<void> } {
  let finish = (): void => undefined
  const promise = new Promise<void>((r) => { finish = r })
  const h = { promise, finish: () => finish(), started: false, run: async () => { h.started = true; await promise } }
  return h
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r))

test('at most `limit` calls run at once; the others start in the order they came, one per finished call', async () => {
  const limit = new CallLimit(2, 10, 'calls')
  const calls = Array.from({ length: 5 }, held)
  const done = calls.map((c) => limit.run(c.run))
  await settle()
  assert.deepEqual(calls.map((c) => c.started), [true, true, false, false, false])
  calls[1]?.finish()
  await settle()
  assert.deepEqual(calls.map((c) => c.started), [true, true, true, false, false])
  calls[0]?.finish()
  calls[2]?.finish()
  await settle()
  assert.deepEqual(calls.map((c) => c.started), [true, true, true, true, true])
  for (const c of calls) c.finish()
  await Promise.all(done)
})

test('a failing call frees its slot and its error reaches its caller', async () => {
  const limit = new CallLimit(1, 10, 'calls')
  await assert.rejects(limit.run(() => Promise.reject(new Error('backend down'))), /backend down/)
  assert.equal(await limit.run(() => Promise.resolve(7)), 7)
})

test('beyond `maxWaiting` callers are refused at once; an aborted waiter leaves the line', async () => {
  const limit = new CallLimit(1, 1, 'lease requests')
  const first = held()
  const running = limit.run(first.run)
  const controller = new AbortController()
  const waiter = held()
  const waiting = limit.run(waiter.run, controller.signal)
  await assert.rejects(limit.run(() => Promise.resolve()), (err: unknown) => err instanceof CallLimitError && /too many lease requests waiting/.test(err.message))
  controller.abort(new Error('client gone'))
  await assert.rejects(waiting, /client gone/)
  // Its place is free again, and the slot still passes on when the running call ends.
  const next = held()
  const queued = limit.run(next.run)
  first.finish()
  await running
  await settle()
  assert.equal(next.started, true)
  assert.equal(waiter.started, false)
  next.finish()
  await queued
})
