import { SHA256_LENGTH, type Crypto } from '../../crypto/crypto.js'
import { CipherState } from './cipher-state.js'

const EMPTY = new Uint8Array(0)

/** Noise HKDF (section 4.3) with two outputs; equal to RFC 5869 with salt = ck and empty info. */
function hkdf2(crypto: Crypto, ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const temp = crypto.hmacSha256(ck, ikm)
  const out1 = crypto.hmacSha256(temp, Uint8Array.of(1))
  const out2 = crypto.hmacSha256(temp, out1, Uint8Array.of(2))
  return [out1, out2]
}

/** Noise SymmetricState (section 5.2) for SHA-256 and AESGCM. */
export class SymmetricState {
  readonly cipher: CipherState
  private ck: Uint8Array
  private h: Uint8Array

  constructor(private readonly crypto: Crypto, protocolName: string) {
    const name = new TextEncoder().encode(protocolName)
    if (name.byteLength <= SHA256_LENGTH) {
      this.h = new Uint8Array(SHA256_LENGTH)
      this.h.set(name)
    } else {
      this.h = crypto.sha256(name)
    }
    this.ck = this.h
    this.cipher = new CipherState(crypto)
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = hkdf2(this.crypto, this.ck, ikm)
    this.ck = ck
    this.cipher.initializeKey(tempK)
  }

  mixHash(data: Uint8Array): void {
    this.h = this.crypto.sha256(this.h, data)
  }

  handshakeHash(): Uint8Array {
    return this.h
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.h, plaintext)
    this.mixHash(ciphertext)
    return ciphertext
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher.decryptWithAd(this.h, ciphertext)
    this.mixHash(ciphertext)
    return plaintext
  }

  /** Returns the initiator-to-responder key, then the responder-to-initiator key. */
  split(): [Uint8Array, Uint8Array] {
    return hkdf2(this.crypto, this.ck, EMPTY)
  }
}
