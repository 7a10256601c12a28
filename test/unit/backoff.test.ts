import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Backoff } from '../../src/util/backoff.js'

test('property: every delay lies between the minimum and the cap of its attempt, which doubles up to the maximum', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 60 }), (minMs, factor, attempts) => {
    const maxMs = minMs * factor
    const b = new Backoff(minMs, maxMs)
    for (let i = 0; i < attempts; i++) {
      const d = b.nextDelayMs()
      assert.ok(Number.isInteger(d))
      assert.ok(d >= minMs && d <= Math.max(minMs, Math.min(maxMs, minMs * 2 ** i)), `attempt ${i}: ${d} ms outside [${minMs}, ${Math.min(maxMs, minMs * 2 ** i)}]`)
    }
  }))
})

test('delays are spread over the whole cap (full jitter), and reset starts again from the minimum', () => {
  const b = new Backoff(100, 10_000)
  for (let i = 0; i < 20; i++) b.nextDelayMs()
  const late = Array.from({ length: 2000 }, () => b.nextDelayMs())
  assert.ok(Math.max(...late) > 9000 && Math.min(...late) < 1000, 'late delays do not cover the range up to the maximum')
  b.reset()
  assert.equal(b.nextDelayMs(), 100, 'the first delay after a reset is not the minimum')
})

test('wait returns false at once when its signal is aborted', { timeout: 10_000 }, async () => {
  const b = new Backoff(60_000, 60_000)
  const controller = new AbortController()
  const waiting = b.wait(controller.signal)
  controller.abort()
  assert.equal(await waiting, false)
  assert.equal(await b.wait(AbortSignal.abort()), false)
})
