import { MAX_ADDRESS_LENGTH } from './address.js'

// When a message comes for a worker a node does not have (a secure channel whose process died and
// came back, a relay whose registration went), the node says so along the message's return route,
// so the sender's channel closes at once instead of waiting out its requests' time-outs. The notice
// is a payload of its own shape: eight 0xff bytes (no channel ciphertext starts so: its first eight
// bytes are a nonce below 2^63), a tag, then the missing address.

const MARK = Buffer.from('ffffffffffffffff' + Buffer.from('UNREACH').toString('hex'), 'hex')
/** Notices about one missing address to one sender are sent at most this often: a flood to a dead address is not echoed back. */
export const UNREACHABLE_NOTICE_INTERVAL_MS = 1000
/** Missing address and sender pairs remembered for that rate limit. */
export const MAX_NOTICED_ADDRESSES = 4096

export function encodeUnreachable(address: string): Uint8Array {
  return Buffer.concat([MARK, Buffer.from(address.slice(0, MAX_ADDRESS_LENGTH), 'utf8')])
}

/** The missing address a notice names, or undefined when `payload` is no notice. */
export function decodeUnreachable(payload: Uint8Array): string | undefined {
  if (payload.byteLength < MARK.length || payload.byteLength > MARK.length + MAX_ADDRESS_LENGTH * 4 || payload[0] !== 0xff) return undefined
  for (let i = 1; i < MARK.length; i++) if (payload[i] !== MARK[i]) return undefined
  return Buffer.from(payload.subarray(MARK.length)).toString('utf8')
}

/** A notice's longest length, for checks of payloads still in parts. */
export const MAX_NOTICE_LENGTH = MARK.length + MAX_ADDRESS_LENGTH * 4
