import { DecodeError } from './errors.js'

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Strict: odd lengths and non-hex characters are errors, unlike Buffer.from(s, 'hex'). */
export function fromHex(text: string): Uint8Array {
  if (!HEX_RE.test(text)) throw new DecodeError('not a hex string')
  return new Uint8Array(Buffer.from(text, 'hex'))
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts)
}
