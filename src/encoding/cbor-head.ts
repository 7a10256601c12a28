import { DecodeError } from './errors.js'

/**
 * CBOR item heads (major type and argument, RFC 8949 section 3), for the few hot message shapes
 * written and read by hand. Reading accepts only the shortest form, as the strict general decoder
 * does, so each value has one encoding.
 */

export const MAJOR_UINT = 0
export const MAJOR_BYTES = 2
export const MAJOR_TEXT = 3
export const MAJOR_ARRAY = 4

export function cborHeadLength(n: number): number {
  if (n < 24) return 1
  if (n < 0x100) return 2
  if (n < 0x10000) return 3
  return n < 0x1_0000_0000 ? 5 : 9
}

export function writeCborHead(buf: Buffer, at: number, major: number, n: number): number {
  const m = major << 5
  if (n < 24) {
    buf[at] = m | n
    return at + 1
  }
  if (n < 0x100) {
    buf[at] = m | 24
    buf[at + 1] = n
    return at + 2
  }
  if (n < 0x10000) {
    buf[at] = m | 25
    buf.writeUInt16BE(n, at + 1)
    return at + 3
  }
  if (n < 0x1_0000_0000) {
    buf[at] = m | 26
    buf.writeUInt32BE(n, at + 1)
    return at + 5
  }
  buf[at] = m | 27
  buf.writeBigUInt64BE(BigInt(n), at + 1)
  return at + 9
}

export interface CborHead {
  major: number
  value: number
  next: number
}

export function readCborHead(b: Uint8Array, at: number, what: string): CborHead {
  const first = b[at]
  if (first === undefined) throw new DecodeError(`${what}: truncated`)
  const major = first >> 5
  const info = first & 0x1f
  if (info < 24) return { major, value: info, next: at + 1 }
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0
  if (size === 0) throw new DecodeError(`${what}: indefinite or reserved length`)
  if (at + 1 + size > b.byteLength) throw new DecodeError(`${what}: truncated`)
  const view = Buffer.from(b.buffer, b.byteOffset + at + 1, size)
  const value = size === 1 ? view[0] ?? 0 : size === 2 ? view.readUInt16BE(0) : size === 4 ? view.readUInt32BE(0) : Number(view.readBigUInt64BE(0))
  const min = size === 1 ? 24 : size === 2 ? 0x100 : size === 4 ? 0x10000 : 0x1_0000_0000
  if (value < min) throw new DecodeError(`${what}: non-canonical length or integer`)
  if (!Number.isSafeInteger(value)) throw new DecodeError(`${what}: integer too large`)
  return { major, value, next: at + 1 + size }
}

