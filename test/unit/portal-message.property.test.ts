import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encodeCbor } from '../../src/encoding/cbor.js'
import {
  decodeDataHead, decodePortalMessage, encodeDataMessage, encodePortalMessage, MAX_CLOSE_REASON, PORTAL_CHUNK_BYTES, PORTAL_WINDOW_BYTES,
  type PortalMessage
} from '../../src/portal/portal-message.js'
import { garbageAndMutations, onlyRaises } from '../support/hostile-bytes.js'

/** A portal message arrives from an authenticated peer, but that peer may be hostile: only DecodeError may come out. */
const DECODE_ERROR = new Set(['DecodeError'])

const credit = fc.integer({ min: 0, max: 16 * PORTAL_WINDOW_BYTES })
const portalMessage: fc.Arbitrary<PortalMessage> = fc.oneof(
  credit.map((c) => ({ kind: 'connect' as const, credit: c })),
  credit.map((c) => ({ kind: 'connected' as const, credit: c })),
  credit.map((c) => ({ kind: 'credit' as const, bytes: c })),
  fc.uint8Array({ minLength: 1, maxLength: PORTAL_CHUNK_BYTES }).map((b) => ({ kind: 'data' as const, bytes: b })),
  fc.constant({ kind: 'end' as const }),
  fc.string({ maxLength: MAX_CLOSE_REASON }).map((r) => ({ kind: 'close' as const, reason: r }))
)

function plain(m: PortalMessage): unknown {
  return m.kind === 'data' ? { kind: m.kind, bytes: Buffer.from(m.bytes).toString('hex') } : m
}

test('portal messages round-trip, and data is byte for byte what the general CBOR encoder writes', () => {
  fc.assert(fc.property(portalMessage, (m) => {
    const bytes = encodePortalMessage(m)
    assert.deepEqual(plain(decodePortalMessage(bytes)), plain(m))
    if (m.kind === 'data') assert.deepEqual(Buffer.from(bytes), Buffer.from(encodeCbor([2, m.bytes])))
  }), { numRuns: 500 })
})

test('a data message written from pieces is the same as one written whole', () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 4000 }), { minLength: 1, maxLength: 12 }), (pieces) => {
    const length = pieces.reduce((n, p) => n + p.byteLength, 0)
    fc.pre(length > 0)
    assert.deepEqual(Buffer.from(encodeDataMessage(pieces, length)), Buffer.from(encodePortalMessage({ kind: 'data', bytes: Buffer.concat(pieces) })))
  }), { numRuns: 300 })
})

test('portal message decoder: garbage and mutations only ever raise DecodeError', () => {
  garbageAndMutations({ valid: portalMessage, encode: encodePortalMessage, decode: decodePortalMessage, names: DECODE_ERROR, maxGarbageBytes: 300, mutationRuns: 2000 })
  // Any CBOR value at all, not only byte soup: the shapes a careless or hostile peer would send.
  fc.assert(fc.property(fc.array(fc.oneof(fc.integer(), fc.string(), fc.uint8Array({ maxLength: 64 }), fc.boolean(), fc.constant(null)), { maxLength: 4 }),
    (items) => onlyRaises(DECODE_ERROR, () => decodePortalMessage(encodeCbor(items)))), { numRuns: 2000 })
})

test('where the data starts, from a data message\'s first piece: the same as from the whole message, or a DecodeError', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: PORTAL_CHUNK_BYTES }), fc.nat(), (data, cut) => {
    const whole = encodePortalMessage({ kind: 'data', bytes: data })
    const at = decodeDataHead(whole, whole.byteLength)
    assert.deepEqual(Buffer.from(whole.subarray(at)), Buffer.from(data))
    const first = whole.subarray(0, 1 + (cut % whole.byteLength))
    try {
      assert.equal(decodeDataHead(first, whole.byteLength), at)
    } catch (err) {
      assert.ok(err instanceof Error && err.name === 'DecodeError', `unexpected ${String(err)}`)
      assert.ok(first.byteLength < at, 'only a cut head may fail')
    }
  }), { numRuns: 300 })
})

test('hostile portal messages are refused with a clear reason', () => {
  const refused: [string, Uint8Array, RegExp][] = [
    ['empty data', encodeCbor([2, new Uint8Array(0)]), /1 to 48 KiB/],
    ['data over one chunk', encodeCbor([2, new Uint8Array(PORTAL_CHUNK_BYTES + 1)]), /1 to 48 KiB/],
    ['data as text', encodeCbor([2, 'text']), /portal data/],
    ['data with a length that is not the message\'s', Buffer.concat([encodeCbor([2, new Uint8Array(10)]), Uint8Array.of(0)]), /length does not match/],
    ['a message larger than any chunk', new Uint8Array(PORTAL_CHUNK_BYTES + 65), /larger than a chunk/],
    ['credit over any window', encodeCbor([3, 16 * PORTAL_WINDOW_BYTES + 1]), /credit larger than any window/],
    ['negative credit', encodeCbor([3, -1]), /unsigned integer/],
    ['fractional credit', encodeCbor([0, 1.5]), /unsigned integer/],
    ['end with an argument', encodeCbor([4, 1]), /end takes no arguments/],
    ['a close reason over the limit', encodeCbor([5, 'x'.repeat(MAX_CLOSE_REASON + 1)]), /longer than/],
    ['an unknown kind', encodeCbor([9, 0]), /unknown portal message kind 9/],
    ['not an array', encodeCbor({ kind: 2 }), /portal message/],
    ['an empty array', encodeCbor([]), /portal message/]
  ]
  for (const [what, bytes, reason] of refused) {
    assert.throws(() => decodePortalMessage(bytes), (err: Error) => err.name === 'DecodeError' && reason.test(err.message), what)
  }
})
