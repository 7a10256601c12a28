import assert from 'node:assert/strict'
import fc from 'fast-check'

/** Runs `fn`; whatever it raises must be one of the decoder's own errors, named in `names`, never a crash. */
export function onlyRaises(names: ReadonlySet<string>, fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof Error && names.has(err.name), `unexpected ${String(err)}`)
  }
}

/**
 * Byte soup up to `maxGarbageBytes`, then valid encodings with one byte flipped: `decode` raises
 * only the errors named in `names`.
 */
export function garbageAndMutations<T>(
  o: { valid: fc.Arbitrary<T>; encode: (v: T) => Uint8Array; decode: (b: Uint8Array) => unknown; names: ReadonlySet<string>; maxGarbageBytes: number; mutationRuns: number }
): void {
  fc.assert(fc.property(fc.uint8Array({ maxLength: o.maxGarbageBytes }), (b) => onlyRaises(o.names, () => o.decode(b))), { numRuns: 3000 })
  fc.assert(fc.property(o.valid, fc.nat(), fc.integer({ min: 1, max: 255 }), (v, i, x) => {
    const bytes = Uint8Array.from(o.encode(v))
    bytes[i % bytes.length]! ^= x
    onlyRaises(o.names, () => o.decode(bytes))
  }), { numRuns: o.mutationRuns })
}
