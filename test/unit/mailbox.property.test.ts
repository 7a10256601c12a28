import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Router } from '../../src/routing/router.js'
import { local } from '../../src/routing/address.js'
import { joinParts } from '../../src/encoding/parts.js'
import { silentLogger } from '../../src/log/logger.js'

/**
 * What a message of the run asks of the worker: how it is sent (whole or in parts), whether its
 * handler finishes at once, later, or throws, and whether the handler sends another message to
 * the same worker while it runs (which must wait its turn, never run inside the handler).
 */
interface Step {
  inParts: boolean
  handler: 'sync' | 'async' | 'throws' | 'rejects'
  sendsAnother: boolean
}

const step = fc.record<Step>({
  inParts: fc.boolean(),
  handler: fc.constantFrom('sync', 'async', 'throws', 'rejects'),
  sendsAnother: fc.boolean()
})

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

test('property: one worker sees every message once, in the order sent, one at a time, however they are sent and handled', { timeout: 120_000 }, async () => {
  await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(3), { maxLength: 40 }), async (steps, pauses) => {
    const r = new Router(silentLogger)
    const seen: number[] = []
    let running = false
    let overlapped = false
    let nextId = steps.length
    const plan = new Map<number, Step>(steps.map((s, i) => [i, s]))
    const send = (id: number, inParts: boolean): boolean => {
      const payload = new Uint8Array(4)
      new DataView(payload.buffer).setUint32(0, id)
      if (!inParts) return r.send({ onward: [local('w')], return: [], payload })
      return r.sendParts({ onward: [local('w')], return: [], parts: [payload.subarray(0, 1), payload.subarray(1)], length: 4 })
    }
    // Workers take parts synchronously (Worker.handleParts): there an async handler finishes at once.
    const handle = (payload: Uint8Array, syncOnly: boolean): void | Promise<void> => {
      if (running) overlapped = true
      running = true
      const id = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0)
      seen.push(id)
      const s = plan.get(id) ?? { inParts: false, handler: 'sync', sendsAnother: false }
      if (s.sendsAnother) {
        const another = nextId++
        plan.set(another, { inParts: !s.inParts, handler: 'sync', sendsAnother: false })
        expected.push(another)
        assert.ok(send(another, !s.inParts))
      }
      const done = (): void => { running = false }
      const handler = !syncOnly ? s.handler : s.handler === 'rejects' ? 'throws' : s.handler === 'async' ? 'sync' : s.handler
      switch (handler) {
        case 'sync': done(); return
        case 'throws': done(); throw new Error('boom')
        case 'async': return tick().then(done)
        case 'rejects': return tick().then(() => { done(); throw new Error('boom later') })
      }
    }
    r.register('w', {
      handleMessage: (m) => handle(m.payload, false),
      handleParts: (m) => { void handle(joinParts(m.parts, m.length), true) }
    }, { mailboxCapacity: 1000 })
    const expected: number[] = []
    for (const [i, s] of steps.entries()) {
      expected.push(i)
      assert.ok(send(i, s.inParts))
      for (let p = 0; p < (pauses[i] ?? 0); p++) await tick()
    }
    for (let i = 0; i < 200 && seen.length < expected.length; i++) await tick()
    assert.equal(overlapped, false, 'a handler ran while another was running')
    assert.deepEqual(seen, expected)
  }), { numRuns: 200 })
})
