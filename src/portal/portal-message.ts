import { decodeCbor, encodeCbor, expectArray, expectString, expectUint } from '../encoding/cbor.js'
import { DecodeError } from '../encoding/errors.js'
import { cborHeadLength, MAJOR_ARRAY, MAJOR_BYTES, readCborHead, writeCborHead } from '../encoding/cbor-head.js'

/** Data is cut into chunks of at most this many bytes, so one connection cannot hog a channel. */
export const PORTAL_CHUNK_BYTES = 48 * 1024
/** Bytes a sender may have in flight before the receiver grants more: what any hop holds at most per connection. */
export const PORTAL_WINDOW_BYTES = 1024 * 1024
export const MAX_CLOSE_REASON = 512

export const PortalKind = { Connect: 0, Connected: 1, Data: 2, Credit: 3, End: 4, Close: 5 } as const

/**
 * `[0, credit]` connect, `[1, credit]` connected, `[2, bytes]` data, `[3, bytes]` more credit,
 * `[4]` end (the sender finished writing: TCP half-close), `[5, reason]` close.
 */
export type PortalMessage =
  | { kind: 'connect'; credit: number }
  | { kind: 'connected'; credit: number }
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'credit'; bytes: number }
  | { kind: 'end' }
  | { kind: 'close'; reason: string }

const ARRAY_2 = (MAJOR_ARRAY << 5) | 2

/**
 * Data messages are nearly all of a portal's traffic, so they are written by hand, straight into
 * one buffer from the pieces the socket gave us (coalescing them costs no extra copy). Byte for
 * byte what the general encoder writes for `[2, bytes]`.
 */
export function encodeDataMessage(pieces: readonly Uint8Array[], length: number): Uint8Array {
  return Buffer.concat([encodeDataHead(length), ...pieces])
}

/** The bytes of a data message before its `length` bytes of data: `[2, bytes(length)]`'s heads. */
export function encodeDataHead(length: number): Uint8Array {
  const head = Buffer.allocUnsafe(2 + cborHeadLength(length))
  head[0] = ARRAY_2
  head[1] = PortalKind.Data
  writeCborHead(head, 2, MAJOR_BYTES, length)
  return head
}

function decodeDataMessage(bytes: Uint8Array): PortalMessage {
  return { kind: 'data', bytes: bytes.subarray(decodeDataHead(bytes, bytes.byteLength)) }
}

/**
 * For a data message `total` bytes long whose first bytes are `bytes` (all of it, or its first
 * piece), where its data starts. Throws DecodeError, which for a piece may only mean the head was cut.
 */
export function decodeDataHead(bytes: Uint8Array, total: number): number {
  if (bytes[0] !== ARRAY_2 || bytes[1] !== PortalKind.Data) throw new DecodeError('portal data: expected [2, bytes]')
  const head = readCborHead(bytes, 2, 'portal data')
  if (head.major !== MAJOR_BYTES) throw new DecodeError('portal data: expected bytes')
  if (head.next + head.value !== total) throw new DecodeError('portal data: length does not match the message')
  if (head.value === 0 || head.value > PORTAL_CHUNK_BYTES) throw new DecodeError('portal data chunk must be 1 to 48 KiB')
  return head.next
}

export function encodePortalMessage(m: PortalMessage): Uint8Array {
  switch (m.kind) {
    case 'connect': return encodeCbor([PortalKind.Connect, m.credit])
    case 'connected': return encodeCbor([PortalKind.Connected, m.credit])
    case 'data': return encodeDataMessage([m.bytes], m.bytes.byteLength)
    case 'credit': return encodeCbor([PortalKind.Credit, m.bytes])
    case 'end': return encodeCbor([PortalKind.End])
    case 'close': return encodeCbor([PortalKind.Close, m.reason.slice(0, MAX_CLOSE_REASON)])
  }
}

export function decodePortalMessage(bytes: Uint8Array): PortalMessage {
  if (bytes.byteLength > PORTAL_CHUNK_BYTES + 64) throw new DecodeError('portal message larger than a chunk')
  if (bytes[0] === ARRAY_2 && bytes[1] === PortalKind.Data) return decodeDataMessage(bytes)
  const items = expectArray(decodeCbor(bytes), 'portal message', [1, 2])
  const kind = expectUint(items[0], 'portal message kind')
  const credit = (): number => {
    const n = expectUint(items[1], 'credit')
    if (n > 16 * PORTAL_WINDOW_BYTES) throw new DecodeError('credit larger than any window')
    return n
  }
  switch (kind) {
    case PortalKind.Connect: return { kind: 'connect', credit: credit() }
    case PortalKind.Connected: return { kind: 'connected', credit: credit() }
    // The canonical `[2, bytes]` was read above; anything else claiming to be data is malformed.
    case PortalKind.Data: throw new DecodeError('portal data must be [2, bytes]')
    case PortalKind.Credit: return { kind: 'credit', bytes: credit() }
    case PortalKind.End:
      if (items.length !== 1) throw new DecodeError('end takes no arguments')
      return { kind: 'end' }
    case PortalKind.Close: return { kind: 'close', reason: expectString(items[1], 'close reason', MAX_CLOSE_REASON) }
    default: throw new DecodeError(`unknown portal message kind ${kind}`)
  }
}
