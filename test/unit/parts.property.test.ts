import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { partsLength, rangeOfParts, sliceParts } from '../../src/encoding/parts.js'
import { nodeCrypto as c } from '../../src/crypto/node-crypto.js'
import { TransportDecryptor, TransportEncryptor } from '../../src/channel/transport-cipher.js'

/** `bytes` cut at the given points into pieces, some of them empty. */
const cut = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
  const points = [...new Set(cuts.map((x) => x % (bytes.byteLength + 1)))].sort((a, b) => a - b)
  return [0, ...points].map((p, i) => bytes.subarray(p, points[i] ?? bytes.byteLength))
}

test('slices and ranges of pieces are the same bytes as of the whole, and slices are views', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 8 }), fc.nat(), fc.nat(), (bytes, cuts, a, b) => {
    const parts = cut(bytes, cuts)
    assert.equal(partsLength(parts), bytes.byteLength)
    const [start, end] = [a % (bytes.byteLength + 1), b % (bytes.byteLength + 1)].sort((x, y) => x - y) as [number, number]
    const slice = sliceParts(parts, start, end)
    assert.deepEqual(Buffer.concat(slice), Buffer.from(bytes.subarray(start, end)))
    for (const s of slice) assert.ok(s.byteLength > 0 && s.buffer === bytes.buffer)
    assert.deepEqual(Buffer.from(rangeOfParts(parts, start, end)), Buffer.from(bytes.subarray(start, end)))
  }), { numRuns: 1000 })
})

test('AES-GCM over pieces: the same plaintext as over the whole, and any flipped bit is refused', () => {
  const key = randomBytes(32)
  const nonce = randomBytes(12)
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 6 }), fc.nat(), (plaintext, cuts, flip) => {
    const sealed = Buffer.concat(c.aesGcmSeal(key, nonce, new Uint8Array(0), cut(plaintext, cuts)))
    assert.deepEqual(sealed, Buffer.from(c.aesGcmEncrypt(key, nonce, new Uint8Array(0), plaintext)))
    assert.deepEqual(Buffer.concat(c.aesGcmOpen(key, nonce, new Uint8Array(0), cut(sealed, cuts))), Buffer.from(plaintext))
    const bad = Buffer.from(sealed)
    bad[flip % bad.length]! ^= 1 << (flip % 8)
    assert.throws(() => c.aesGcmOpen(key, nonce, new Uint8Array(0), cut(bad, cuts)), { name: 'AuthenticationError' })
  }), { numRuns: 500 })
  assert.throws(() => c.aesGcmOpen(key, nonce, new Uint8Array(0), [new Uint8Array(10), new Uint8Array(5)]), { name: 'AuthenticationError' })
})

test('transport messages in pieces decrypt like whole ones, across rekeys, and replays are still refused', () => {
  const key = randomBytes(32)
  const enc = new TransportEncryptor(c, key)
  const dec = new TransportDecryptor(c, key)
  for (let i = 0; i < 100; i++) {
    const plaintext = randomBytes(i * 37)
    const parts = enc.encryptParts([plaintext.subarray(0, i), plaintext.subarray(i)])
    const wire = Buffer.concat(parts)
    const pieces = cut(wire, [3, 7 + i, wire.byteLength - 5])
    assert.deepEqual(Buffer.concat(dec.decryptParts(pieces, wire.byteLength)), plaintext)
    assert.throws(() => dec.decryptParts(pieces, wire.byteLength), { name: 'ReplayError' })
  }
})
