import { decodeCbor, expectArray, expectBytes, expectUint } from '../encoding/cbor.js'
import { DecodeError } from '../encoding/errors.js'
import { bytesEqual } from '../encoding/hex.js'
import { SHA256_LENGTH, type Crypto, type KeyPair } from '../crypto/crypto.js'
import { ExpiredError, VerificationError } from './errors.js'
import { identifierFromBytes, identifierToBytes, IDENTIFIER_LENGTH, type Identifier } from './identifier.js'
import type { Identity } from './identity.js'
import {
  DataType, decodeSignedValue, decodeVersioned, encodeSigned, encodeVersioned, nowSeconds, signData, verifyData
} from './signed-data.js'

/** Which job an attested key does; the tag is signed, so a key cannot be moved to another job. */
export const Purpose = { SecureChannel: 0, CredentialSigning: 1 } as const
export type Purpose = (typeof Purpose)[keyof typeof Purpose]

export const DEFAULT_PURPOSE_KEY_VALIDITY_SECONDS = 365 * 24 * 3600
export const MAX_CLOCK_SKEW_SECONDS = 60
export const MAX_ATTESTATION_BYTES = 1024

export interface PurposeKeyAttestation {
  subject: Identifier
  subjectLatestChangeHash: Uint8Array
  purpose: Purpose
  publicKey: Uint8Array
  createdAt: number
  expiresAt: number
  /** The signed envelope, as sent on the wire. */
  encoded: Uint8Array
}

/** The identity's primary key signs `[subject, latest_change_hash, [purpose, [key]], created, expires]`. */
export function attestPurposeKey(
  crypto: Crypto, identity: Identity, primarySecret: Uint8Array, purpose: Purpose, key: KeyPair,
  options: { now?: number; validitySeconds?: number } = {}
): PurposeKeyAttestation {
  const createdAt = options.now ?? nowSeconds()
  const expiresAt = Math.min(
    createdAt + (options.validitySeconds ?? DEFAULT_PURPOSE_KEY_VALIDITY_SECONDS),
    identity.latest.change.attestationsValidUntil
  )
  const data = encodeVersioned(DataType.PurposeKeyAttestation, [
    identifierToBytes(identity.identifier), identity.latestChangeHash, [purpose, [key.publicKey]], createdAt, expiresAt
  ])
  const encoded = encodeSigned({ data, signature: signData(crypto, primarySecret, data) })
  return {
    subject: identity.identifier, subjectLatestChangeHash: identity.latestChangeHash, purpose,
    publicKey: key.publicKey, createdAt, expiresAt, encoded
  }
}

export function decodePurposeKeyAttestation(encoded: Uint8Array): PurposeKeyAttestation & { data: Uint8Array; signature: Uint8Array } {
  if (encoded.byteLength > MAX_ATTESTATION_BYTES) throw new DecodeError('purpose key attestation too large')
  const { data, signature } = decodeSignedValue(decodeCbor(encoded), 'purpose key attestation')
  const fields = expectArray(decodeVersioned(data, DataType.PurposeKeyAttestation, 'purpose key attestation'), 'attestation data', 5)
  const [subject, hash, key, created, expires] = fields
  const [purpose, inner] = expectArray(key, 'purpose key', 2)
  const purposeValue = expectUint(purpose, 'purpose')
  if (purposeValue !== Purpose.SecureChannel && purposeValue !== Purpose.CredentialSigning) throw new DecodeError('unknown key purpose')
  const [publicKey] = expectArray(inner, 'purpose key', 1)
  return {
    subject: identifierFromBytes(expectBytes(subject, 'subject', IDENTIFIER_LENGTH)),
    subjectLatestChangeHash: expectBytes(hash, 'subject latest change hash', SHA256_LENGTH),
    purpose: purposeValue,
    publicKey: expectBytes(publicKey, 'purpose public key', 32),
    createdAt: expectUint(created, 'created_at'),
    expiresAt: expectUint(expires, 'expires_at'),
    encoded, data, signature
  }
}

/**
 * Verifies that `identity` attested a key for `purpose`, that it was made by the identity's current
 * key (so rotating the primary key retires old purpose keys), and that it is valid now.
 */
export function verifyPurposeKeyAttestation(
  crypto: Crypto, identity: Identity, encoded: Uint8Array, purpose: Purpose, now = nowSeconds()
): PurposeKeyAttestation {
  const a = decodePurposeKeyAttestation(encoded)
  if (a.subject !== identity.identifier) throw new VerificationError('purpose key attested by another identity')
  if (a.purpose !== purpose) throw new VerificationError('purpose key attested for another purpose')
  if (!bytesEqual(a.subjectLatestChangeHash, identity.latestChangeHash)) {
    throw new VerificationError('purpose key attested by an outdated identity key')
  }
  verifyData(crypto, identity.primaryPublicKey, a.data, a.signature, 'purpose key attestation')
  const window = identity.latest.change
  if (a.createdAt < window.attestationsValidFrom || a.expiresAt > window.attestationsValidUntil) {
    throw new VerificationError('purpose key attestation outside the identity key validity')
  }
  if (a.createdAt > now + MAX_CLOCK_SKEW_SECONDS) throw new VerificationError('purpose key attestation created in the future')
  if (a.expiresAt < now) throw new ExpiredError('purpose key attestation expired')
  return a
}
