import { decodeCbor, expectArray, expectBytes, expectStringMap, expectUint } from '../encoding/cbor.js'
import { DecodeError } from '../encoding/errors.js'
import { bytesEqual } from '../encoding/hex.js'
import { SHA256_LENGTH, type Crypto } from '../crypto/crypto.js'
import { ExpiredError, VerificationError } from './errors.js'
import { identifierFromBytes, identifierToBytes, IDENTIFIER_LENGTH, type Identifier } from './identifier.js'
import type { Identity } from './identity.js'
import {
  decodePurposeKeyAttestation, MAX_CLOCK_SKEW_SECONDS, Purpose, verifyPurposeKeyAttestation, type PurposeKeyAttestation
} from './purpose-key.js'
import {
  DataType, decodeSignedValue, decodeVersioned, encodeSigned, encodeVersioned, nowSeconds, signData, verifyData
} from './signed-data.js'

export const DEFAULT_CREDENTIAL_TTL_SECONDS = 3600
export const MAX_ATTRIBUTES = 64
export const MAX_CREDENTIAL_BYTES = 16 * 1024

export type Attributes = Readonly<Record<string, string>>

export interface CredentialData {
  subject: Identifier
  subjectLatestChangeHash: Uint8Array
  attributes: Attributes
  createdAt: number
  expiresAt: number
}

/** A credential as sent: its signed bytes plus the attestation of the key that signed it. */
export interface CredentialAndPurposeKey {
  credential: Uint8Array
  purposeKey: Uint8Array
}

export interface VerifiedCredential extends CredentialData {
  issuer: Identifier
}

export function issueCredential(
  crypto: Crypto, signing: { attestation: PurposeKeyAttestation; secretKey: Uint8Array },
  subject: Identity, attributes: Attributes, options: { now?: number; ttlSeconds?: number } = {}
): CredentialAndPurposeKey {
  const createdAt = options.now ?? nowSeconds()
  const expiresAt = Math.min(createdAt + (options.ttlSeconds ?? DEFAULT_CREDENTIAL_TTL_SECONDS), signing.attestation.expiresAt)
  if (Object.keys(attributes).length > MAX_ATTRIBUTES) throw new RangeError(`more than ${MAX_ATTRIBUTES} attributes`)
  const data = encodeVersioned(DataType.Credential, [
    identifierToBytes(subject.identifier), subject.latestChangeHash, { ...attributes }, createdAt, expiresAt
  ])
  return { credential: encodeSigned({ data, signature: signData(crypto, signing.secretKey, data) }), purposeKey: signing.attestation.encoded }
}

export function decodeCredential(encoded: Uint8Array): CredentialData & { data: Uint8Array; signature: Uint8Array } {
  if (encoded.byteLength > MAX_CREDENTIAL_BYTES) throw new DecodeError('credential too large')
  const { data, signature } = decodeSignedValue(decodeCbor(encoded), 'credential')
  const [subject, hash, attributes, created, expires] = expectArray(decodeVersioned(data, DataType.Credential, 'credential'), 'credential data', 5)
  return {
    subject: identifierFromBytes(expectBytes(subject, 'subject', IDENTIFIER_LENGTH)),
    subjectLatestChangeHash: expectBytes(hash, 'subject latest change hash', SHA256_LENGTH),
    attributes: expectStringMap(attributes, 'attributes', MAX_ATTRIBUTES),
    createdAt: expectUint(created, 'created_at'),
    expiresAt: expectUint(expires, 'expires_at'),
    data, signature
  }
}

/**
 * Issuer trusted (its signing key attested by `issuer`), subject is the peer at its latest key,
 * and now inside [created - skew, expires].
 */
export function verifyCredential(
  crypto: Crypto, issuer: Identity, subject: Identity, c: CredentialAndPurposeKey, now = nowSeconds()
): VerifiedCredential {
  const key = verifyPurposeKeyAttestation(crypto, issuer, c.purposeKey, Purpose.CredentialSigning, now)
  const d = decodeCredential(c.credential)
  verifyData(crypto, key.publicKey, d.data, d.signature, 'credential')
  if (d.subject !== subject.identifier) throw new VerificationError('credential is for another identity')
  if (!bytesEqual(d.subjectLatestChangeHash, subject.latestChangeHash)) {
    throw new VerificationError('credential was issued for an outdated key of its subject')
  }
  if (d.createdAt > now + MAX_CLOCK_SKEW_SECONDS) throw new VerificationError('credential created in the future (clock skew over 60 s)')
  if (d.expiresAt < now) throw new ExpiredError('credential expired')
  if (d.expiresAt < d.createdAt) throw new VerificationError('credential expires before it is created')
  return { subject: d.subject, subjectLatestChangeHash: d.subjectLatestChangeHash, attributes: d.attributes, createdAt: d.createdAt, expiresAt: d.expiresAt, issuer: issuer.identifier }
}

export function encodeCredentialAndPurposeKey(c: CredentialAndPurposeKey): unknown {
  return [c.credential, c.purposeKey]
}

export function decodeCredentialAndPurposeKey(value: unknown): CredentialAndPurposeKey {
  const [credential, purposeKey] = expectArray(value, 'credential and purpose key', 2)
  return { credential: expectBytes(credential, 'credential'), purposeKey: expectBytes(purposeKey, 'purpose key') }
}

export function credentialIssuer(c: CredentialAndPurposeKey): Identifier {
  return decodePurposeKeyAttestation(c.purposeKey).subject
}
