import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeCborFirst, encodeCbor } from '../../src/encoding/cbor.js'
import { DecodeError } from '../../src/encoding/errors.js'
import { decodeRoute, encodeRoute, MAX_ADDRESS_LENGTH, MAX_ROUTE_LENGTH, type Address } from '../../src/routing/address.js'
import { encodeRouteBytes, readRoute } from '../../src/routing/route-codec.js'

// The hand-written route codec must be indistinguishable from the general CBOR codec it replaces
// on the hot path: same bytes out, same routes in, and nothing accepted that the strict general
// decoder would refuse.

const value = fc.oneof(fc.string({ maxLength: MAX_ADDRESS_LENGTH }), fc.string({ unit: 'grapheme', maxLength: 60 }))
const address: fc.Arbitrary<Address> = fc.record({
  type: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 40 })),
  value: value.filter((v) => v.length <= MAX_ADDRESS_LENGTH)
})
const route = fc.array(address, { maxLength: MAX_ROUTE_LENGTH })

/** The general path: cborg's strict decoder, then the route validation. */
function general(bytes: Uint8Array): { route: Address[]; used: number } {
  const [item, rest] = decodeCborFirst(bytes)
  return { route: decodeRoute(item, 'route'), used: bytes.byteLength - rest.byteLength }
}

function handWritten(bytes: Uint8Array): { route: Address[]; used: number } {
  const [r, used] = readRoute(bytes, 0, 'route')
  return { route: r, used }
}

test('route codec writes exactly what the general CBOR encoder writes, and reads it back', () => {
  fc.assert(fc.property(route, (r) => {
    const bytes = encodeRouteBytes(r)
    assert.deepEqual(Buffer.from(bytes), Buffer.from(encodeCbor(encodeRoute(r))))
    assert.deepEqual(handWritten(bytes), { route: r.map((a) => ({ type: a.type, value: a.value })), used: bytes.byteLength })
  }), { numRuns: 1000 })
})

test('route codec accepts only what the strict general decoder accepts, with the same result', () => {
  const mutated = fc.tuple(route, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }))
    .map(([r, flips]) => {
      const b = Uint8Array.from(encodeRouteBytes(r))
      for (const [i, x] of flips) b[i % b.length]! ^= x
      return b
    })
  fc.assert(fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 200 })), (bytes) => {
    let expected: { route: Address[]; used: number } | Error
    try {
      expected = general(bytes)
    } catch (err) {
      expected = err as Error
    }
    let actual: { route: Address[]; used: number } | Error
    try {
      actual = handWritten(bytes)
    } catch (err) {
      assert.ok(err instanceof DecodeError, `unexpected ${String(err)}`)
      actual = err
    }
    if (actual instanceof Error) {
      // Stricter only where the general decoder papers over invalid UTF-8 with U+FFFD.
      if (!(expected instanceof Error)) assert.match(actual.message, /invalid UTF-8/)
    } else {
      assert.ok(!(expected instanceof Error), `accepted what the general decoder refuses: ${Buffer.from(bytes).toString('hex')}`)
      assert.deepEqual(actual, expected)
    }
  }), { numRuns: 5000 })
})

test('route codec refuses hostile heads before reading further', () => {
  const cases: [string, RegExp][] = [
    ['98ff', /more than 32 hops/], // 255 hops claimed
    ['9f', /indefinite/], // indefinite-length array
    ['9801', /non-canonical/], // 1 written in two bytes
    ['81820078ff', /truncated/], // a 255-byte value with nothing behind it
    ['8182007a00010000', /longer than/], // a 64 KiB value claimed
    ['81820161ff', /invalid UTF-8/],
    ['8182206161', /unsigned integer/] // a negative type
  ]
  for (const [hex, message] of cases) assert.throws(() => readRoute(Buffer.from(hex, 'hex'), 0, 'route'), message, hex)
})
