import { DecodeError } from '../encoding/errors.js'
import { decodeMessage, encodeMessageParts, type Message } from '../routing/message.js'

/**
 * Plaintext of a transport message: one kind byte, then the body.
 *   0 payload  body = routed message `[onward, return, payload]` for the far side to route
 *   1 refresh  body = CBOR list of credentials replacing the ones presented in the handshake
 *   2 close    body = UTF-8 reason
 *   3 ready    body = empty; the responder accepted the initiator (sent once, after message C)
 *   4 ping     body = empty; a keep-alive, sent by a side that has sent nothing for a while
 */
export const Kind = { Payload: 0, Refresh: 1, Close: 2, Ready: 3, Ping: 4 } as const
export type Kind = (typeof Kind)[keyof typeof Kind]

export const MAX_CLOSE_REASON = 512

/** A payload message as the parts of its plaintext, for the encryptor to take without joining them. */
export function encodePayload(m: Message): [Uint8Array, Uint8Array] {
  return encodeMessageParts(m, Kind.Payload)
}

export function encodeControl(kind: Exclude<Kind, 0>, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  return Buffer.concat([Uint8Array.of(kind), body])
}

export function encodeClose(reason: string): Uint8Array {
  return encodeControl(Kind.Close, Buffer.from(reason.slice(0, MAX_CLOSE_REASON), 'utf8'))
}

export type ChannelMessage =
  | { kind: typeof Kind.Payload; message: Message }
  | { kind: typeof Kind.Refresh; credentials: Uint8Array }
  | { kind: typeof Kind.Close; reason: string }
  | { kind: typeof Kind.Ready }
  | { kind: typeof Kind.Ping }

export function decodeChannelMessage(plaintext: Uint8Array): ChannelMessage {
  const body = plaintext.subarray(1)
  switch (plaintext[0]) {
    case Kind.Payload: return { kind: Kind.Payload, message: decodeMessage(body) }
    case Kind.Refresh: return { kind: Kind.Refresh, credentials: body }
    case Kind.Close: return { kind: Kind.Close, reason: Buffer.from(body.subarray(0, MAX_CLOSE_REASON)).toString('utf8') }
    case Kind.Ready: return { kind: Kind.Ready }
    case Kind.Ping: return { kind: Kind.Ping }
    default: throw new DecodeError('unknown secure channel message kind')
  }
}
