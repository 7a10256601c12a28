import { PorticoError, type ErrorKind } from '../util/errors.js'
/**
 * The only cryptographic surface of Portico. Everything above this layer handles raw bytes, so a
 * test can swap the implementation (for fixed ephemeral keys, say) without touching the protocol.
 */
export interface KeyPair {
  readonly publicKey: Uint8Array
  /** Raw 32-byte secret. Never logged; vaults persist it with owner-only permissions. */
  readonly secretKey: Uint8Array
}

export const ED25519_PUBLIC_KEY_LENGTH = 32
export const ED25519_SIGNATURE_LENGTH = 64
export const X25519_KEY_LENGTH = 32
export const SHA256_LENGTH = 32
export const AES_GCM_KEY_LENGTH = 32
export const AES_GCM_TAG_LENGTH = 16
export const AES_GCM_NONCE_LENGTH = 12

export interface Crypto {
  randomBytes(length: number): Uint8Array
  sha256(...parts: Uint8Array[]): Uint8Array
  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array

  ed25519Generate(): KeyPair
  ed25519FromSecret(secretKey: Uint8Array): KeyPair
  ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean

  x25519Generate(): KeyPair
  x25519FromSecret(secretKey: Uint8Array): KeyPair
  /** Throws on a low-order public key (an all-zero shared secret). */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array

  /** Encrypts the concatenation of `plaintext`'s parts (callers need not join them): `ciphertext ‖ tag`. */
  aesGcmEncrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array | readonly Uint8Array[]): Uint8Array
  /**
   * The same `ciphertext ‖ tag`, left in the pieces the cipher produced them in, so a 48 KiB
   * portal chunk is not copied once more just to be joined: a socket writes the pieces with writev.
   */
  aesGcmSeal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array | readonly Uint8Array[]): Uint8Array[]
  /** Throws AuthenticationError when the tag does not verify. */
  aesGcmDecrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array
  /**
   * Decrypts `ciphertext ‖ tag` given in pieces (a frame that spanned socket reads) and returns the
   * plaintext in matching pieces, nothing joined. Throws AuthenticationError when the tag does not verify.
   */
  aesGcmOpen(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: readonly Uint8Array[]): Uint8Array[]
}

export class AuthenticationError extends PorticoError {
  override readonly code: string = 'authentication-failed'
  override readonly kind: ErrorKind = 'refused'
  override name = 'AuthenticationError'
}

export class InvalidKeyError extends PorticoError {
  override readonly code: string = 'invalid-key'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'InvalidKeyError'
}
