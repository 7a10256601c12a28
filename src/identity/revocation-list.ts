import { decodeCbor, encodeCbor, expectArray, expectBytes, expectUint } from '../encoding/cbor.js'
import { DecodeError } from '../encoding/errors.js'
import type { Crypto } from '../crypto/crypto.js'
import { VerificationError } from './errors.js'
import { identifierFromBytes, identifierToBytes, IDENTIFIER_LENGTH } from './identifier.js'
import type { Identity } from './identity.js'
import type { PurposeKey } from './local-identity.js'
import { MAX_CLOCK_SKEW_SECONDS, Purpose, verifyPurposeKeyAttestation } from './purpose-key.js'
import { DataType, decodeSignedValue, decodeVersioned, encodeSigned, encodeVersioned, signData, verifyData } from './signed-data.js'

/** More revoked identities than this in one list is refused before decoding them. */
export const MAX_REVOKED_ENTRIES = 100_000

export interface Revocation {
  identifier: string
  revokedAt: number
}

export interface RevocationList {
  issuer: string
  issuedAt: number
  revoked: Revocation[]
}

/**
 * The identities an authority has revoked, signed with its credential-signing key:
 * `[signed VersionedData(RevocationList, [issuer, issued_at, [[subject, revoked_at]...]]), attestation]`.
 * Signed, so a node may accept it from any route, not only from the authority's own channel.
 */
export function signRevocationList(crypto: Crypto, issuer: Identity, key: PurposeKey, issuedAt: number, revoked: readonly Revocation[]): Uint8Array {
  const data = encodeVersioned(DataType.RevocationList, [
    identifierToBytes(issuer.identifier), issuedAt, revoked.map((r) => [identifierToBytes(r.identifier), r.revokedAt])
  ])
  return encodeCbor([encodeSigned({ data, signature: signData(crypto, key.key.secretKey, data) }), key.attestation.encoded])
}

export function verifyRevocationList(crypto: Crypto, authority: Identity, bytes: Uint8Array, now: number): RevocationList {
  const [signed, attestation] = expectArray(decodeCbor(bytes), 'revocation list', 2)
  const key = verifyPurposeKeyAttestation(crypto, authority, expectBytes(attestation, 'attestation'), Purpose.CredentialSigning, now)
  const { data, signature } = decodeSignedValue(decodeCbor(expectBytes(signed, 'signed revocation list')), 'revocation list')
  verifyData(crypto, key.publicKey, data, signature, 'revocation list')
  const [issuer, issuedAt, entries] = expectArray(decodeVersioned(data, DataType.RevocationList, 'revocation list'), 'revocation list data', 3)
  const list = expectArray(entries, 'revoked')
  if (list.length > MAX_REVOKED_ENTRIES) throw new DecodeError(`more than ${MAX_REVOKED_ENTRIES} revoked identities`)
  const result: RevocationList = {
    issuer: identifierFromBytes(expectBytes(issuer, 'issuer', IDENTIFIER_LENGTH)),
    issuedAt: expectUint(issuedAt, 'issued_at'),
    revoked: list.map((e) => {
      const [id, at] = expectArray(e, 'revocation', 2)
      return { identifier: identifierFromBytes(expectBytes(id, 'revoked identifier', IDENTIFIER_LENGTH)), revokedAt: expectUint(at, 'revoked_at') }
    })
  }
  if (result.issuer !== authority.identifier) throw new VerificationError('revocation list is from another authority')
  if (result.issuedAt > now + MAX_CLOCK_SKEW_SECONDS) throw new VerificationError('revocation list issued in the future (clock skew over 60 s)')
  return result
}
