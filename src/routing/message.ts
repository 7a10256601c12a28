import { decodeCborFirst, encodeCbor } from '../encoding/cbor.js'
import { DecodeError } from '../encoding/errors.js'
import { decodeRoute, encodeRoute, type Address, type Route } from './address.js'
import type { Attributes } from '../identity/credential.js'

/** What travels: where to go next, how to answer, and opaque bytes. */
export interface Message {
  readonly onward: Route
  readonly return: Route
  readonly payload: Uint8Array
}

/** What a secure channel vouches for about the message's sender; never on the wire. */
export interface SecureChannelInfo {
  readonly identifier: string
  readonly attributes: Attributes
  readonly hasCredential: boolean
  /** Local address of the channel the message came through. */
  readonly channel: string
}

export interface LocalMessage extends Message {
  readonly secureChannel?: SecureChannelInfo
}

/** One hop forward: drop the first onward address and put ours at the front of the return route. */
export function step(msg: LocalMessage, self: Address): LocalMessage {
  return { ...msg, onward: msg.onward.slice(1), return: [self, ...msg.return] }
}

const CBOR_ARRAY_3 = 0x83

/** Head of a CBOR byte string of `length` bytes (major type 2). */
function bytesHead(length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x40 | length)
  if (length < 0x100) return Uint8Array.of(0x58, length)
  if (length < 0x10000) return Uint8Array.of(0x59, length >> 8, length & 0xff)
  const head = Buffer.alloc(5)
  head[0] = 0x5a
  head.writeUInt32BE(length, 1)
  return head
}

/**
 * `CBOR [onward, return, payload]`, built by hand around the payload so that a 48 KiB portal
 * chunk is never copied just to be framed. Returns the parts to write in order.
 */
export function encodeMessageParts(m: Message): [Uint8Array, Uint8Array] {
  const onward = encodeCbor(encodeRoute(m.onward))
  const ret = encodeCbor(encodeRoute(m.return))
  const head = bytesHead(m.payload.byteLength)
  return [Buffer.concat([Uint8Array.of(CBOR_ARRAY_3), onward, ret, head]), m.payload]
}

export function encodeMessage(m: Message): Uint8Array {
  return Buffer.concat(encodeMessageParts(m))
}

export function decodeMessage(bytes: Uint8Array): Message {
  if (bytes[0] !== CBOR_ARRAY_3) throw new DecodeError('message: expected an array of 3')
  const [onward, afterOnward] = decodeCborFirst(bytes.subarray(1))
  const [ret, afterReturn] = decodeCborFirst(afterOnward)
  const { start, length } = readBytesHead(afterReturn)
  if (start + length !== afterReturn.byteLength) throw new DecodeError('message: payload length does not match the frame')
  return {
    onward: decodeRoute(onward, 'onward route'),
    return: decodeRoute(ret, 'return route'),
    payload: afterReturn.subarray(start, start + length)
  }
}

function readBytesHead(b: Uint8Array): { start: number; length: number } {
  const first = b[0]
  if (first === undefined || first >> 5 !== 2) throw new DecodeError('message: payload must be a byte string')
  const info = first & 0x1f
  const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  let head: { start: number; length: number; min: number } | undefined
  if (info < 24) head = { start: 1, length: info, min: 0 }
  else if (info === 24 && b.byteLength >= 2) head = { start: 2, length: view.readUInt8(1), min: 24 }
  else if (info === 25 && b.byteLength >= 3) head = { start: 3, length: view.readUInt16BE(1), min: 0x100 }
  else if (info === 26 && b.byteLength >= 5) head = { start: 5, length: view.readUInt32BE(1), min: 0x10000 }
  // Non-minimal lengths are refused like everywhere else: one message, one encoding.
  if (head === undefined || head.length < head.min) throw new DecodeError('message: bad payload length')
  return head
}

export type { Address, Route }
