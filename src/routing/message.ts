import { cborHeadLength, MAJOR_BYTES, readCborHead, writeCborHead } from '../encoding/cbor-head.js'
import { DecodeError } from '../encoding/errors.js'
import type { Address, Route } from './address.js'
import { readRoute, routeByteLength, writeRoute } from './route-codec.js'
import { joinParts } from '../encoding/parts.js'
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

/** The connection a frame was read from, and the channels that connection carried messages out of. */
export interface NetworkOrigin {
  readonly connection: string
  carried(channel: string): boolean
}

/** Where a message came from, as far as this node knows; never on the wire. */
export interface MessageOrigin {
  readonly secureChannel?: SecureChannelInfo
  /**
   * It arrived on a transport connection as it is: neither a local worker nor a secure channel
   * vouches for it. A channel's encryptor takes it only as an answer to what the channel sent
   * over that connection; otherwise anyone who learned the encryptor's address could speak into
   * the channel as this node.
   */
  readonly fromNetwork?: NetworkOrigin
}

export interface LocalMessage extends Message, MessageOrigin {}

/**
 * A message whose payload is the concatenation of `parts` (`length` bytes in all), handed on
 * without joining them: see Router.sendParts.
 */
export interface PartsMessage extends MessageOrigin {
  readonly onward: Route
  readonly return: Route
  readonly parts: readonly Uint8Array[]
  readonly length: number
}

/** A message's origin, to carry onto another message built from it. */
export function originOf(msg: MessageOrigin): MessageOrigin {
  return {
    ...(msg.secureChannel !== undefined ? { secureChannel: msg.secureChannel } : {}),
    ...(msg.fromNetwork !== undefined ? { fromNetwork: msg.fromNetwork } : {})
  }
}

/** The same message with its pieces joined, for workers that take whole payloads. */
export function joinedMessage(msg: PartsMessage): LocalMessage {
  return { onward: msg.onward, return: msg.return, payload: joinParts(msg.parts, msg.length), ...originOf(msg) }
}

/** One hop forward: drop the first onward address and put ours at the front of the return route. */
export function step(msg: LocalMessage, self: Address): LocalMessage {
  return { ...msg, onward: msg.onward.slice(1), return: [self, ...msg.return] }
}

const CBOR_ARRAY_3 = 0x83

/**
 * `CBOR [onward, return, payload]`, built by hand around the payload so that a 48 KiB portal
 * chunk is never copied just to be framed. Returns the parts to write in order. `prefix`, when
 * given, is one byte placed before the CBOR (a secure channel's message kind), saving a copy.
 */
export function encodeMessageParts(m: Message, prefix?: number): [Uint8Array, Uint8Array] {
  return [encodeMessageHead(m.onward, m.return, m.payload.byteLength, prefix), m.payload]
}

/** Everything of `CBOR [onward, return, payload]` that comes before the payload's `length` bytes. */
export function encodeMessageHead(onward: Route, ret: Route, length: number, prefix?: number): Uint8Array {
  const pre = prefix === undefined ? 0 : 1
  const head = Buffer.allocUnsafe(pre + 1 + routeByteLength(onward) + routeByteLength(ret) + cborHeadLength(length))
  if (prefix !== undefined) head[0] = prefix
  head[pre] = CBOR_ARRAY_3
  let at = writeRoute(head, pre + 1, onward)
  at = writeRoute(head, at, ret)
  writeCborHead(head, at, MAJOR_BYTES, length)
  return head
}

export function encodeMessage(m: Message): Uint8Array {
  return Buffer.concat(encodeMessageParts(m))
}

export function decodeMessage(bytes: Uint8Array): Message {
  const { onward, return: ret, payloadAt } = decodeMessageHead(bytes, bytes.byteLength)
  return { onward, return: ret, payload: bytes.subarray(payloadAt) }
}

/**
 * Reads the routes and payload header of a message `total` bytes long from `bytes`, its first
 * bytes (all of it, or the first piece of a frame that arrived in several reads). Throws a
 * DecodeError, which for a first piece may only mean the head itself was cut by the read.
 */
export function decodeMessageHead(bytes: Uint8Array, total: number): { onward: Route; return: Route; payloadAt: number } {
  if (bytes[0] !== CBOR_ARRAY_3) throw new DecodeError('message: expected an array of 3')
  const [onward, afterOnward] = readRoute(bytes, 1, 'onward route')
  const [ret, afterReturn] = readRoute(bytes, afterOnward, 'return route')
  const head = readCborHead(bytes, afterReturn, 'message payload')
  if (head.major !== MAJOR_BYTES) throw new DecodeError('message: payload must be a byte string')
  if (head.next + head.value !== total) throw new DecodeError('message: payload length does not match the frame')
  return { onward, return: ret, payloadAt: head.next }
}

export type { Address, Route }
