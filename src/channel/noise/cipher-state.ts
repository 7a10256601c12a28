import { AES_GCM_NONCE_LENGTH, type Crypto } from '../../crypto/crypto.js'

const EMPTY = new Uint8Array(0)
const ZEROS_32 = new Uint8Array(32)
/** 2^64 - 1: the nonce Noise reserves for REKEY. */
export const MAX_NONCE = 0xffff_ffff_ffff_ffffn

/** Noise AESGCM nonce: 32 bits of zeros followed by the 64-bit counter, big-endian. */
export function aesGcmNonce(n: bigint): Uint8Array {
  // A pooled allocation: one of these is made for every message in both directions.
  const nonce = Buffer.allocUnsafe(AES_GCM_NONCE_LENGTH)
  nonce.writeUInt32BE(0, 0)
  nonce.writeBigUInt64BE(n, 4)
  return nonce
}

export function encryptWithNonce(crypto: Crypto, k: Uint8Array, n: bigint, ad: Uint8Array, plaintext: Uint8Array | readonly Uint8Array[]): Uint8Array {
  return crypto.aesGcmEncrypt(k, aesGcmNonce(n), ad, plaintext)
}

/** ENCRYPT as pieces to be written in order (see Crypto.aesGcmSeal). */
export function sealWithNonce(crypto: Crypto, k: Uint8Array, n: bigint, ad: Uint8Array, plaintext: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
  return crypto.aesGcmSeal(k, aesGcmNonce(n), ad, plaintext)
}

export function decryptWithNonce(crypto: Crypto, k: Uint8Array, n: bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return crypto.aesGcmDecrypt(k, aesGcmNonce(n), ad, ciphertext)
}

/** Noise REKEY(k): the first 32 bytes of ENCRYPT(k, maxnonce, zerolen, zeros). */
export function rekey(crypto: Crypto, k: Uint8Array): Uint8Array {
  return encryptWithNonce(crypto, k, MAX_NONCE, EMPTY, ZEROS_32).subarray(0, 32)
}

/** Noise CipherState (section 5.1) with an implicit counter, as the handshake uses it. */
export class CipherState {
  private k: Uint8Array | undefined
  private n = 0n

  constructor(private readonly crypto: Crypto, key?: Uint8Array) {
    this.k = key
  }

  initializeKey(key: Uint8Array): void {
    this.k = key
    this.n = 0n
  }

  hasKey(): boolean {
    return this.k !== undefined
  }

  /** The raw key, for handing over to the transport cipher after Split(). */
  key(): Uint8Array {
    if (this.k === undefined) throw new Error('cipher state has no key')
    return this.k
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.k === undefined) return plaintext
    const out = encryptWithNonce(this.crypto, this.k, this.n, ad, plaintext)
    this.n += 1n
    return out
  }

  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.k === undefined) return ciphertext
    const out = decryptWithNonce(this.crypto, this.k, this.n, ad, ciphertext)
    this.n += 1n
    return out
  }
}
