import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { nodeCrypto as c } from '../../src/crypto/node-crypto.js'
import { MAX_EPOCH_JUMP, TransportDecryptor, TransportEncryptor, REKEY_INTERVAL } from '../../src/channel/transport-cipher.js'
import { decryptWithNonce, rekey, sealWithNonce } from '../../src/channel/noise/cipher-state.js'
import { ReplayWindow } from '../../src/channel/replay-window.js'

const key = () => c.randomBytes(32)

test('messages decrypt across rekey boundaries and the key really changes every 32 messages', () => {
  const k = key()
  const enc = new TransportEncryptor(c, k)
  const dec = new TransportDecryptor(c, k)
  const sealed: Uint8Array[] = []
  for (let i = 0; i < 100; i++) sealed.push(enc.encrypt(Uint8Array.of(i)))
  sealed.forEach((m, i) => assert.deepEqual([...dec.decrypt(m)], [i]))
  // A decryptor that never rekeys cannot read message 32 with the original key.
  const stale = new TransportEncryptor(c, k)
  const first = stale.encrypt(Uint8Array.of(1))
  assert.equal(Buffer.from(first).readBigUInt64BE(0), 0n)
  assert.equal(Buffer.from(sealed[Number(REKEY_INTERVAL)]!).readBigUInt64BE(0), REKEY_INTERVAL)
})

test('out-of-order delivery inside the window works; replays and tampering are refused', () => {
  const k = key()
  const enc = new TransportEncryptor(c, k)
  const dec = new TransportDecryptor(c, k)
  const m = Array.from({ length: 40 }, (_, i) => enc.encrypt(Uint8Array.of(i)))
  assert.deepEqual([...dec.decrypt(m[35]!)], [35])
  assert.deepEqual([...dec.decrypt(m[30]!)], [30])
  assert.throws(() => dec.decrypt(m[35]!), { name: 'ReplayError' })
  const t = Uint8Array.from(m[36]!)
  t[10]! ^= 1
  assert.throws(() => dec.decrypt(t), { name: 'AuthenticationError' })
  // The forged message changed nothing: the real one still decrypts.
  assert.deepEqual([...dec.decrypt(m[36]!)], [36])
  assert.throws(() => dec.decrypt(new Uint8Array(3)), { name: 'ReplayError' })
})

test('any permutation of a burst within the window decrypts exactly once each', () => {
  fc.assert(fc.property(fc.shuffledSubarray(Array.from({ length: 60 }, (_, i) => i), { minLength: 60, maxLength: 60 }), (order) => {
    const k = key()
    const enc = new TransportEncryptor(c, k)
    const dec = new TransportDecryptor(c, k)
    const m = Array.from({ length: 60 }, (_, i) => enc.encrypt(Uint8Array.of(i)))
    for (const i of order) {
      try {
        assert.deepEqual([...dec.decrypt(m[i]!)], [i])
      } catch (err) {
        // Older than the previous key epoch is refused, never misread.
        assert.ok(['ReplayError'].includes((err as Error).name))
      }
      assert.throws(() => dec.decrypt(m[i]!))
    }
  }), { numRuns: 50 })
})

test('replay window', () => {
  const w = new ReplayWindow()
  w.accept(0n); w.accept(5n)
  assert.equal(w.check(5n), false)
  assert.equal(w.check(3n), true)
  w.accept(200n)
  assert.equal(w.check(100n), false)
  assert.equal(w.check(199n), true)
})

const EMPTY = new Uint8Array(0)
/** A transport message sealed by hand: `nonce ‖ AES-GCM(k, n, m)`. */
const sealedBy = (k: Uint8Array, n: bigint, m: Uint8Array): Uint8Array => {
  const nonce = Buffer.alloc(8)
  nonce.writeBigUInt64BE(n)
  return Buffer.concat([nonce, Buffer.concat(sealWithNonce(c, k, n, EMPTY, m))])
}

test('rekey: message 32 is sealed with REKEY(k), never with k, on both sides', () => {
  const k = key()
  const enc = new TransportEncryptor(c, k)
  const sealed = Array.from({ length: 33 }, (_, i) => enc.encrypt(Uint8Array.of(i)))
  const m32 = sealed[32]!.subarray(8)
  assert.throws(() => decryptWithNonce(c, k, 32n, EMPTY, m32), { name: 'AuthenticationError' })
  assert.deepEqual([...decryptWithNonce(c, rekey(c, k), 32n, EMPTY, m32)], [32])
  // A decryptor that did not rekey would take this one: the real one must not.
  const dec = new TransportDecryptor(c, k)
  assert.throws(() => dec.decrypt(sealedBy(k, 33n, Uint8Array.of(9))), { name: 'AuthenticationError' })
  assert.deepEqual([...dec.decrypt(sealed[32]!)], [32])
})

test('a nonce more than MAX_EPOCH_JUMP epochs ahead is refused before any rekeying', () => {
  const k = key()
  const dec = new TransportDecryptor(c, k)
  const far = (MAX_EPOCH_JUMP + 1n) * REKEY_INTERVAL
  assert.throws(() => dec.decrypt(sealedBy(k, far, Uint8Array.of(1))), /too far ahead/)
  // Exactly MAX_EPOCH_JUMP ahead is still read (with the key of that epoch).
  let kAhead = k
  for (let i = 0n; i < MAX_EPOCH_JUMP; i++) kAhead = rekey(c, kAhead)
  assert.deepEqual([...dec.decrypt(sealedBy(kAhead, MAX_EPOCH_JUMP * REKEY_INTERVAL, Uint8Array.of(2)))], [2])
})

test('a forged message from a future epoch changes nothing; a retired epoch is refused', () => {
  const k = key()
  const enc = new TransportEncryptor(c, k)
  const dec = new TransportDecryptor(c, k)
  const m = Array.from({ length: 100 }, (_, i) => enc.encrypt(Uint8Array.of(i)))
  assert.deepEqual([...dec.decrypt(m[1]!)], [1])
  // Forged: a future epoch's nonce with a tag made under the wrong key.
  assert.throws(() => dec.decrypt(sealedBy(k, 5n * REKEY_INTERVAL, Uint8Array.of(7))), { name: 'AuthenticationError' })
  // Nothing moved: epoch 0 is still current.
  assert.deepEqual([...dec.decrypt(m[2]!)], [2])
  // Two epochs on, epoch 0 is retired (only the previous key is kept for late messages).
  assert.deepEqual([...dec.decrypt(m[70]!)], [70])
  assert.deepEqual([...dec.decrypt(m[40]!)], [40], 'the previous epoch still reads')
  assert.throws(() => dec.decrypt(m[3]!), /retired key epoch|replayed or too old/)
})

test('replay window: a nonce seen stays seen as the window slides; exactly its size behind is too old', () => {
  const w = new ReplayWindow()
  w.accept(5n)
  w.accept(6n)
  w.accept(40n)
  for (const seen of [5n, 6n, 40n]) assert.equal(w.check(seen), false, `nonce ${seen} accepted twice`)
  assert.equal(w.check(7n), true)
  const edge = new ReplayWindow()
  edge.accept(64n)
  assert.equal(edge.check(0n), false, 'exactly REPLAY_WINDOW_SIZE behind')
  assert.equal(edge.check(1n), true)
})

test('the decryptor moves to a new epoch once it read one: the epoch before the previous is refused even inside the replay window', () => {
  const k = key()
  const enc = new TransportEncryptor(c, k)
  const dec = new TransportDecryptor(c, k)
  const m = Array.from({ length: 80 }, (_, i) => enc.encrypt(Uint8Array.of(i)))
  assert.deepEqual([...dec.decrypt(m[1]!)], [1])
  assert.deepEqual([...dec.decrypt(m[70]!)], [70])
  assert.deepEqual([...dec.decrypt(m[40]!)], [40], 'the previous epoch still reads')
  // 70 - 10 is inside the 64-message window, but epoch 0 is two epochs back: retired.
  assert.throws(() => dec.decrypt(m[10]!), /retired key epoch/)
  const fresh = new TransportDecryptor(c, k)
  assert.throws(() => fresh.decrypt(new Uint8Array(7)), /shorter than its nonce/)
  assert.throws(() => fresh.decrypt(new Uint8Array(8)), { name: 'AuthenticationError' })
})

test('the epoch jump is measured from the current epoch, not from zero', () => {
  const k = key()
  const dec = new TransportDecryptor(c, k)
  const keyAt = (epoch: bigint): Uint8Array => { let x = k; for (let i = 0n; i < epoch; i++) x = rekey(c, x); return x }
  const k1000 = keyAt(1000n)
  assert.deepEqual([...dec.decrypt(sealedBy(k1000, 1000n * REKEY_INTERVAL, Uint8Array.of(1)))], [1])
  assert.deepEqual([...dec.decrypt(sealedBy(rekey(c, k1000), 1001n * REKEY_INTERVAL, Uint8Array.of(2)))], [2])
})
