import { DecodeError } from '../encoding/errors.js'
import { fromHex, toHex } from '../encoding/hex.js'

export const IDENTIFIER_LENGTH = 32
const IDENTIFIER_RE = /^I[0-9a-f]{64}$/

/** `I` + lowercase hex of SHA-256 over the first change's data. */
export type Identifier = string

export function isIdentifier(text: string): boolean {
  return IDENTIFIER_RE.test(text)
}

export function parseIdentifier(text: string): Identifier {
  if (!isIdentifier(text)) throw new DecodeError('not an identifier (I followed by 64 lowercase hex digits)')
  return text
}

export function identifierToBytes(id: Identifier): Uint8Array {
  return fromHex(parseIdentifier(id).slice(1))
}

export function identifierFromBytes(bytes: Uint8Array): Identifier {
  if (bytes.byteLength !== IDENTIFIER_LENGTH) throw new DecodeError('identifier must be 32 bytes')
  return `I${toHex(bytes)}`
}
