// The transport compliance suite, after js-libp2p's interface-compliance-tests: one suite, a
// setup per implementation (test/loopback/transport-compliance.test.ts runs it on TCP and memory).
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Router } from '../../src/routing/router.js'
import { local, type Address } from '../../src/routing/address.js'
import { request } from '../../src/routing/request.js'
import { startEcho } from '../../src/services/echo.js'
import { MAX_FRAME_SIZE } from '../../src/transport/frame-decoder.js'
import { text, str } from '../helpers.js'
import type { TestSetup } from './setup.js'

/** Two routers joined by the transport under test. */
export interface TransportPair {
  a: Router
  b: Router
  /** Address of b as seen from a. */
  bAddress: Address
  /** Drops a's connection to b as a network would. */
  disconnect: () => void
  close: () => Promise<void>
}

export function transportCompliance(name: string, setup: TestSetup<TransportPair>): void {
  describe(`transport compliance: ${name}`, () => {
    const pairs: TransportPair[] = []
    after(async () => { await Promise.all(pairs.map((p) => p.close())) })
    const pair = async (): Promise<TransportPair> => { const p = await setup(); pairs.push(p); return p }

    test('delivers a message and its answer finds the way back by the return route', async () => {
      const p = await pair()
      startEcho(p.b)
      const reply = await request(p.a, [p.bAddress, local('echo')], text('hi'), { timeoutMs: 5000 })
      assert.equal(str(reply.payload), 'hi')
      assert.equal(reply.return.at(-1)?.value, 'echo')
    })

    test('keeps order and carries payloads up to the frame limit', async () => {
      const p = await pair()
      const seen: number[] = []
      p.b.register('sink', { handleMessage: (m) => { seen.push(m.payload.byteLength) } })
      const sizes = [0, 1, 1000, 48 * 1024, MAX_FRAME_SIZE - 1024, 5]
      for (const n of sizes) p.a.send({ onward: [p.bAddress, local('sink')], return: [], payload: new Uint8Array(n) })
      const deadline = Date.now() + 5000
      while (seen.length < sizes.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      assert.deepEqual(seen, sizes)
    })

    test('a message over the frame limit is dropped, not sent, and the connection survives', async () => {
      const p = await pair()
      startEcho(p.b)
      await request(p.a, [p.bAddress, local('echo')], text('warm'), { timeoutMs: 5000 })
      assert.equal(p.a.send({ onward: [p.bAddress, local('echo')], return: [], payload: new Uint8Array(MAX_FRAME_SIZE + 1) }), false)
      assert.equal(str((await request(p.a, [p.bAddress, local('echo')], text('after'), { timeoutMs: 5000 })).payload), 'after')
    })

    test('reconnects on the next message after a disconnect', async () => {
      const p = await pair()
      startEcho(p.b)
      await request(p.a, [p.bAddress, local('echo')], text('1'), { timeoutMs: 5000 })
      p.disconnect()
      await new Promise((r) => setTimeout(r, 50))
      assert.equal(str((await request(p.a, [p.bAddress, local('echo')], text('2'), { timeoutMs: 5000 })).payload), '2')
    })

    test('a message to a missing worker is dropped and counted on the far side', async () => {
      const p = await pair()
      p.a.send({ onward: [p.bAddress, local('nobody')], return: [], payload: text('x') })
      const deadline = Date.now() + 5000
      while (p.b.stats.dropped.noRoute === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      assert.equal(p.b.stats.dropped.noRoute, 1)
    })
  })
}
