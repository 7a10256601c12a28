import type { Crypto } from '../crypto/crypto.js'
import { aesGcmNonce, rekey, sealWithNonce } from './noise/cipher-state.js'
import { joinParts, rangeOfParts, sliceParts } from '../encoding/parts.js'
import { ReplayWindow } from './replay-window.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'

/** Every this many messages both sides move to REKEY(k), so a captured key opens few messages. */
export const REKEY_INTERVAL = 32n
export const NONCE_LENGTH = 8
/** A nonce this far ahead would make us rekey many times for one message: refuse it. */
export const MAX_EPOCH_JUMP = 1024n

export class ReplayError extends PorticoError {
  override readonly code: string = 'replay'
  override readonly kind: ErrorKind = 'refused'
  override name = 'ReplayError'
}

const EMPTY = new Uint8Array(0)

/**
 * Transport messages of an established channel: `nonce (u64 BE) ‖ AES-GCM(k_epoch, nonce, m)`,
 * where k_epoch = REKEY applied floor(nonce / 32) times. The explicit nonce lets messages arrive
 * out of order or be lost without desynchronising the two sides.
 */
export class TransportEncryptor {
  private nonce = 0n
  private key: Uint8Array
  private epoch = 0n

  constructor(private readonly crypto: Crypto, key: Uint8Array) {
    this.key = key
  }

  /** Encrypts the concatenation of the parts (the caller need not join them). */
  encrypt(plaintext: Uint8Array | readonly Uint8Array[]): Uint8Array {
    return Buffer.concat(this.encryptParts(plaintext))
  }

  /** The same message as pieces to be written in order: the nonce, then the cipher's own output. */
  encryptParts(plaintext: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
    const n = this.nonce
    const epoch = n / REKEY_INTERVAL
    while (this.epoch < epoch) {
      this.key = rekey(this.crypto, this.key)
      this.epoch += 1n
    }
    this.nonce += 1n
    const nonce = Buffer.allocUnsafe(NONCE_LENGTH)
    nonce.writeBigUInt64BE(n, 0)
    const sealed = sealWithNonce(this.crypto, this.key, n, EMPTY, plaintext)
    sealed.unshift(nonce)
    return sealed
  }
}

export class TransportDecryptor {
  private readonly window = new ReplayWindow()
  private key: Uint8Array
  private epoch = 0n
  /** The key of the epoch before `epoch`, for late messages inside the replay window. */
  private previousKey: Uint8Array | undefined

  constructor(private readonly crypto: Crypto, key: Uint8Array) {
    this.key = key
  }

  decrypt(message: Uint8Array): Uint8Array {
    return joinParts(this.decryptParts([message], message.byteLength))
  }

  /** The same for a message in pieces (`length` bytes in all); the plaintext comes back in pieces. */
  decryptParts(message: readonly Uint8Array[], length: number): Uint8Array[] {
    if (length < NONCE_LENGTH) throw new ReplayError('transport message shorter than its nonce')
    const nonce = rangeOfParts(message, 0, NONCE_LENGTH)
    const n = Buffer.from(nonce.buffer, nonce.byteOffset, NONCE_LENGTH).readBigUInt64BE(0)
    if (!this.window.check(n)) throw new ReplayError('replayed or too old transport message')
    const epoch = n / REKEY_INTERVAL
    let key: Uint8Array
    let nextKey = this.key
    let beforeNextKey = this.previousKey
    let nextEpoch = this.epoch
    if (epoch === this.epoch) {
      key = this.key
    } else if (epoch > this.epoch) {
      if (epoch - this.epoch > MAX_EPOCH_JUMP) throw new ReplayError('transport nonce too far ahead')
      while (nextEpoch < epoch) {
        beforeNextKey = nextKey
        nextKey = rekey(this.crypto, nextKey)
        nextEpoch += 1n
      }
      key = nextKey
    } else if (this.epoch - epoch === 1n && this.previousKey !== undefined) {
      key = this.previousKey
    } else {
      throw new ReplayError('transport message from a retired key epoch')
    }
    // Authenticate before moving any state, so a forged message changes nothing.
    const plaintext = this.crypto.aesGcmOpen(key, aesGcmNonce(n), EMPTY, sliceParts(message, NONCE_LENGTH, length))
    this.window.accept(n)
    if (nextEpoch > this.epoch) {
      this.previousKey = beforeNextKey
      this.key = nextKey
      this.epoch = nextEpoch
    }
    return plaintext
  }
}
