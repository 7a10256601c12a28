import { decodeCbor, encodeCbor, expectArray, expectBytes, expectUint } from '../encoding/cbor.js'
import { DecodeError } from '../encoding/errors.js'
import { ED25519_SIGNATURE_LENGTH, ED25519_PUBLIC_KEY_LENGTH, type Crypto } from '../crypto/crypto.js'
import { VerificationError } from './errors.js'
import { signatureCache } from './signature-cache.js'

/** Ockam's VersionedData: `[version = 1, data_type, bstr(data)]`; the type stops cross-use of signatures. */
export const DATA_VERSION = 1
export const DataType = { Change: 1, PurposeKeyAttestation: 2, Credential: 3, RevocationList: 4 } as const
export type DataType = (typeof DataType)[keyof typeof DataType]

/** Ockam's key and signature enums: `[0, [bstr]]`, 0 = Ed25519 (1 would be ECDSA P-256, unsupported). */
export const KEY_TYPE_ED25519 = 0
export const KEY_TYPE_X25519 = 0

export function encodeVersioned(type: DataType, data: unknown): Uint8Array {
  return encodeCbor([DATA_VERSION, type, encodeCbor(data)])
}

export function decodeVersioned(bytes: Uint8Array, type: DataType, what: string): unknown {
  const [version, dataType, inner] = expectArray(decodeCbor(bytes), what, 3)
  if (expectUint(version, `${what}.version`) !== DATA_VERSION) throw new DecodeError(`${what}: unsupported version`)
  if (expectUint(dataType, `${what}.data_type`) !== type) throw new DecodeError(`${what}: wrong data type`)
  return decodeCbor(expectBytes(inner, `${what}.data`))
}

export function encodeEd25519(bytes: Uint8Array): unknown {
  return [KEY_TYPE_ED25519, [bytes]]
}

export function decodeEd25519(value: unknown, what: string, length: number): Uint8Array {
  const [kind, inner] = expectArray(value, what, 2)
  if (expectUint(kind, `${what}.type`) !== KEY_TYPE_ED25519) throw new DecodeError(`${what}: only Ed25519 is supported`)
  const [bytes] = expectArray(inner, what, 1)
  return expectBytes(bytes, what, length)
}

export const decodePublicKey = (v: unknown, what: string): Uint8Array => decodeEd25519(v, what, ED25519_PUBLIC_KEY_LENGTH)
export const decodeSignature = (v: unknown, what: string): Uint8Array => decodeEd25519(v, what, ED25519_SIGNATURE_LENGTH)

/** Ockam signs SHA-256 of the VersionedData bytes, not the bytes themselves. */
export function signData(crypto: Crypto, secretKey: Uint8Array, data: Uint8Array): Uint8Array {
  return crypto.ed25519Sign(secretKey, crypto.sha256(data))
}

export function verifyData(crypto: Crypto, publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array, what: string): void {
  if (!signatureCache.verify(crypto, publicKey, crypto.sha256(data), signature)) {
    throw new VerificationError(`${what}: signature does not verify`)
  }
}

/** `[data: bstr, signature]`: the envelope of attestations and credentials. */
export interface Signed {
  data: Uint8Array
  signature: Uint8Array
}

export function encodeSigned(s: Signed): Uint8Array {
  return encodeCbor([s.data, encodeEd25519(s.signature)])
}

export function decodeSignedValue(value: unknown, what: string): Signed {
  const [data, signature] = expectArray(value, what, 2)
  return { data: expectBytes(data, `${what}.data`), signature: decodeSignature(signature, `${what}.signature`) }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
