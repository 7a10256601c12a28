import { decodeCbor, encodeCbor, expectArray, expectBool, expectBytes, expectUint } from '../encoding/cbor.js'
import { DecodeError } from '../encoding/errors.js'
import { bytesEqual } from '../encoding/hex.js'
import { SHA256_LENGTH, type Crypto } from '../crypto/crypto.js'
import { VerificationError } from './errors.js'
import {
  DataType, decodePublicKey, decodeSignature, decodeVersioned, encodeEd25519, encodeVersioned, verifyData
} from './signed-data.js'

/** A history longer than this is refused before it is verified: each change costs two signatures. */
export const MAX_CHANGES = 64
export const MAX_CHANGE_HISTORY_BYTES = 64 * 1024

export interface ChangeData {
  previousChangeHash: Uint8Array | null
  primaryPublicKey: Uint8Array
  revokeAllPurposeKeys: boolean
  attestationsValidFrom: number
  attestationsValidUntil: number
}

export interface Change {
  /** The VersionedData bytes exactly as received: hashes and signatures cover these. */
  data: Uint8Array
  change: ChangeData
  signature: Uint8Array
  previousSignature: Uint8Array | null
  /** SHA-256 of `data`; the next change links to it. */
  hash: Uint8Array
}

export function encodeChangeData(crypto: Crypto, c: ChangeData): { data: Uint8Array; hash: Uint8Array } {
  const data = encodeVersioned(DataType.Change, [
    c.previousChangeHash, encodeEd25519(c.primaryPublicKey), c.revokeAllPurposeKeys,
    c.attestationsValidFrom, c.attestationsValidUntil
  ])
  return { data, hash: crypto.sha256(data) }
}

function decodeChangeData(data: Uint8Array): ChangeData {
  const fields = expectArray(decodeVersioned(data, DataType.Change, 'change'), 'change data', 5)
  const [prev, key, revoke, from, until] = fields
  return {
    previousChangeHash: prev === null ? null : expectBytes(prev, 'previous change hash', SHA256_LENGTH),
    primaryPublicKey: decodePublicKey(key, 'primary public key'),
    revokeAllPurposeKeys: expectBool(revoke, 'revoke_all_purpose_keys'),
    attestationsValidFrom: expectUint(from, 'attestations_valid_from'),
    attestationsValidUntil: expectUint(until, 'attestations_valid_until')
  }
}

export function encodeChange(c: Pick<Change, 'data' | 'signature' | 'previousSignature'>): unknown[] {
  const out: unknown[] = [c.data, encodeEd25519(c.signature)]
  if (c.previousSignature !== null) out.push(encodeEd25519(c.previousSignature))
  return out
}

export function encodeChangeHistory(changes: readonly Pick<Change, 'data' | 'signature' | 'previousSignature'>[]): Uint8Array {
  return encodeCbor(changes.map(encodeChange))
}

/** Decodes a change history without checking signatures; see verifyChangeHistory. */
export function decodeChangeHistory(crypto: Crypto, bytes: Uint8Array): Change[] {
  if (bytes.byteLength > MAX_CHANGE_HISTORY_BYTES) throw new DecodeError('change history too large')
  const items = expectArray(decodeCbor(bytes), 'change history')
  if (items.length === 0) throw new DecodeError('change history is empty')
  if (items.length > MAX_CHANGES) throw new DecodeError(`change history has more than ${MAX_CHANGES} changes`)
  return items.map((item, i) => {
    const [data, signature, previousSignature] = expectArray(item, `change ${i}`, [2, 3])
    const dataBytes = expectBytes(data, `change ${i} data`)
    return {
      data: dataBytes,
      change: decodeChangeData(dataBytes),
      signature: decodeSignature(signature, `change ${i} signature`),
      previousSignature: previousSignature === undefined ? null : decodeSignature(previousSignature, `change ${i} previous signature`),
      hash: crypto.sha256(dataBytes)
    }
  })
}

/**
 * Full chain verification: the first change has no predecessor; each later one links to the hash
 * of the one before and is signed by both its own key and the previous key; validity windows are
 * well formed and do not go back in time.
 */
export function verifyChangeHistory(crypto: Crypto, changes: readonly Change[]): void {
  changes.forEach((c, i) => {
    const what = `change ${i}`
    const { change } = c
    if (change.attestationsValidFrom > change.attestationsValidUntil) {
      throw new VerificationError(`${what}: validity window ends before it starts`)
    }
    verifyData(crypto, change.primaryPublicKey, c.data, c.signature, what)
    const prev = changes[i - 1]
    if (prev === undefined) {
      if (change.previousChangeHash !== null) throw new VerificationError(`${what}: first change links to a predecessor`)
      if (c.previousSignature !== null) throw new VerificationError(`${what}: first change has a previous signature`)
      return
    }
    if (change.previousChangeHash === null || !bytesEqual(change.previousChangeHash, prev.hash)) {
      throw new VerificationError(`${what}: does not link to the previous change`)
    }
    if (c.previousSignature === null) throw new VerificationError(`${what}: missing the previous key's signature`)
    verifyData(crypto, prev.change.primaryPublicKey, c.data, c.previousSignature, `${what} (previous key)`)
    if (change.attestationsValidFrom < prev.change.attestationsValidFrom) {
      throw new VerificationError(`${what}: validity starts before the previous change's`)
    }
  })
}
