import { test } from 'node:test'
import assert from 'node:assert/strict'
import { nodeCrypto as c } from '../../src/crypto/node-crypto.js'
import { SignatureCache } from '../../src/identity/signature-cache.js'

test('the signature cache remembers only successes and never accepts a changed input', () => {
  const cache = new SignatureCache(2)
  const k = c.ed25519Generate()
  const m = c.sha256(Uint8Array.of(1))
  const sig = c.ed25519Sign(k.secretKey, m)
  const counter = { calls: 0 }
  // Read through a function: assertions would otherwise narrow the field to a literal.
  const calls = (): number => counter.calls
  const counting = { ...c, ed25519Verify: (p: Uint8Array, msg: Uint8Array, s: Uint8Array) => { counter.calls++; return c.ed25519Verify(p, msg, s) } }
  assert.equal(cache.verify(counting, k.publicKey, m, sig), true)
  assert.equal(cache.verify(counting, k.publicKey, m, sig), true)
  assert.equal(calls(), 1)
  const bad = Uint8Array.from(sig)
  bad[0]! ^= 1
  assert.equal(cache.verify(counting, k.publicKey, m, bad), false)
  assert.equal(cache.verify(counting, k.publicKey, m, bad), false)
  assert.equal(calls(), 3)
  assert.equal(cache.verify(counting, k.publicKey, c.sha256(Uint8Array.of(2)), sig), false)
  // Capacity 2: two more successes evict the first.
  for (const x of [3, 4]) {
    const d = c.sha256(Uint8Array.of(x))
    cache.verify(counting, k.publicKey, d, c.ed25519Sign(k.secretKey, d))
  }
  const before = calls()
  assert.equal(cache.verify(counting, k.publicKey, m, sig), true)
  assert.equal(calls(), before + 1)
})
