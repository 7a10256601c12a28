import type { Crypto } from '../crypto/crypto.js'
import { decodeCbor, encodeCbor, expectArray, expectBytes } from '../encoding/cbor.js'
import { DecodeError } from '../encoding/errors.js'
import { bytesEqual } from '../encoding/hex.js'
import {
  credentialIssuer, decodeCredentialAndPurposeKey, encodeCredentialAndPurposeKey, verifyCredential,
  type Attributes, type CredentialAndPurposeKey, type VerifiedCredential
} from '../identity/credential.js'
import { importIdentity, type Identity } from '../identity/identity.js'
import { Purpose, verifyPurposeKeyAttestation } from '../identity/purpose-key.js'
import { VerificationError } from '../identity/errors.js'
import { UnexpectedPeerError } from './errors.js'

export const MAX_PRESENTED_CREDENTIALS = 8

/** Who is at the other end, as proved by the handshake. */
export interface PeerInfo {
  identity: Identity
  identifier: string
  credentials: VerifiedCredential[]
  /** Attributes from every verified credential; a later credential wins a conflict. */
  attributes: Attributes
}

/** Messages B and C carry `[change_history, static_key_attestation, [credential...]]`. */
export function encodeIdentityPayload(identity: Identity, attestation: Uint8Array, credentials: readonly CredentialAndPurposeKey[]): Uint8Array {
  return encodeCbor([identity.export(), attestation, credentials.map(encodeCredentialAndPurposeKey)])
}

export function encodeCredentialsPayload(credentials: readonly CredentialAndPurposeKey[]): Uint8Array {
  return encodeCbor(credentials.map(encodeCredentialAndPurposeKey))
}

export function decodeCredentialsPayload(bytes: Uint8Array): CredentialAndPurposeKey[] {
  const items = expectArray(decodeCbor(bytes), 'credentials')
  if (items.length > MAX_PRESENTED_CREDENTIALS) throw new DecodeError(`more than ${MAX_PRESENTED_CREDENTIALS} credentials`)
  return items.map(decodeCredentialAndPurposeKey)
}

export interface VerifyContext {
  crypto: Crypto
  /** Authorities whose credentials we check; credentials from anyone else are ignored. */
  authorities: readonly Identity[]
  now: () => number
}

/**
 * Verifies a handshake payload: the identity's history, that it attested exactly the Noise
 * static key the handshake proved (`rs`), and the credentials from authorities we know.
 */
export function verifyIdentityPayload(ctx: VerifyContext, payload: Uint8Array, remoteStatic: Uint8Array): PeerInfo {
  const [history, attestation, credentials] = expectArray(decodeCbor(payload), 'identity payload', 3)
  const identity = importIdentity(ctx.crypto, expectBytes(history, 'change history'))
  const key = verifyPurposeKeyAttestation(ctx.crypto, identity, expectBytes(attestation, 'static key attestation'), Purpose.SecureChannel, ctx.now())
  if (!bytesEqual(key.publicKey, remoteStatic)) {
    throw new UnexpectedPeerError(`identity ${identity.identifier} did not attest the Noise static key it used`)
  }
  const list = expectArray(credentials, 'credentials')
  if (list.length > MAX_PRESENTED_CREDENTIALS) throw new DecodeError(`more than ${MAX_PRESENTED_CREDENTIALS} credentials`)
  return { identity, identifier: identity.identifier, ...verifyCredentials(ctx, identity, list.map(decodeCredentialAndPurposeKey)) }
}

export function verifyCredentials(ctx: VerifyContext, subject: Identity, credentials: readonly CredentialAndPurposeKey[]): Pick<PeerInfo, 'credentials' | 'attributes'> {
  const verified: VerifiedCredential[] = []
  const attributes: Record<string, string> = {}
  for (const c of credentials) {
    const issuerId = credentialIssuer(c)
    const issuer = ctx.authorities.find((a) => a.identifier === issuerId)
    if (issuer === undefined) continue
    try {
      const v = verifyCredential(ctx.crypto, issuer, subject, c, ctx.now())
      verified.push(v)
      Object.assign(attributes, v.attributes)
    } catch (err) {
      throw new VerificationError(`credential from ${issuerId} for ${subject.identifier} rejected: ${(err as Error).message}`, { cause: err })
    }
  }
  return { credentials: verified, attributes }
}
