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

/** The pieces as one buffer: the piece itself when there is only one, else a copy. */
export function joinParts(parts: readonly Uint8Array[], length = partsLength(parts)): Uint8Array {
  const only = parts[0]
  return parts.length === 1 && only !== undefined ? only : Buffer.concat(parts, length)
}

/**
 * Removes the first `n` bytes from a queue of buffers and returns them as views (the last one
 * split if need be). The queue must hold at least `n` bytes.
 */
export function shiftParts(queue: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = []
  for (let need = n; need > 0;) {
    const first = queue[0]
    if (first === undefined) throw new Error('fewer bytes queued than counted')
    if (first.byteLength <= need) {
      out.push(first)
      queue.shift()
      need -= first.byteLength
    } else {
      out.push(first.subarray(0, need))
      queue[0] = first.subarray(need)
      need = 0
    }
  }
  return out
}
