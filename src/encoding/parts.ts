/**
 * Bytes held as the pieces they arrived in (socket reads, cipher output), so large payloads are
 * passed on without being joined. These helpers read them as one run of bytes.
 */

export function partsLength(parts: readonly Uint8Array[]): number {
  let n = 0
  for (const p of parts) n += p.byteLength
  return n
}

/** Bytes `start` to `end` as views of the pieces: nothing is copied. */
export function sliceParts(parts: readonly Uint8Array[], start: number, end: number): Uint8Array[] {
  const out: Uint8Array[] = []
  let at = 0
  for (const p of parts) {
    const from = Math.max(start - at, 0)
    const to = Math.min(end - at, p.byteLength)
    if (from < to) out.push(from === 0 && to === p.byteLength ? p : p.subarray(from, to))
    at += p.byteLength
    if (at >= end) break
  }
  return out
}

/** Bytes `start` to `end` in one buffer: a view when they lie in one piece, else a (small) copy. */
export function rangeOfParts(parts: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const pieces = sliceParts(parts, start, end)
  const only = pieces[0]
  return pieces.length === 1 && only !== undefined ? only : Buffer.concat(pieces, end - start)
}
