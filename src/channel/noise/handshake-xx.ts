import { X25519_KEY_LENGTH, AES_GCM_TAG_LENGTH, type Crypto, type KeyPair } from '../../crypto/crypto.js'
import { SymmetricState } from './symmetric-state.js'
import { PorticoError, type ErrorKind } from '../../util/errors.js'

export const NOISE_XX_PROTOCOL = 'Noise_XX_25519_AESGCM_SHA256'
/** Largest Noise message (spec section 3); every read checks this before doing any work. */
export const NOISE_MAX_MESSAGE_LENGTH = 65535

export class HandshakeError extends PorticoError {
  override readonly code: string = 'handshake'
  override readonly kind: ErrorKind = 'refused'
  override name = 'HandshakeError'
}

export type Role = 'initiator' | 'responder'

export interface HandshakeOptions {
  role: Role
  /** Our long-term Noise static key (the secure-channel purpose key). */
  staticKey: KeyPair
  prologue?: Uint8Array
  /** Fixed ephemeral, for test vectors only; a fresh one is generated otherwise. */
  ephemeralKey?: KeyPair
}

export interface HandshakeResult {
  handshakeHash: Uint8Array
  remoteStatic: Uint8Array
  /** Key for messages we send, then for messages we receive. */
  sendKey: Uint8Array
  receiveKey: Uint8Array
}

type Step = 'A' | 'B' | 'C' | 'done'

/**
 * The Noise XX pattern as a pure state machine: no I/O, no timers. A driver calls the
 * write/read functions in order and moves the bytes.
 *   -> e
 *   <- e, ee, s, es
 *   -> s, se
 */
export class HandshakeXX {
  private readonly ss: SymmetricState
  private readonly s: KeyPair
  private readonly e: KeyPair
  private re: Uint8Array | undefined
  private rs: Uint8Array | undefined
  private step: Step = 'A'

  constructor(private readonly crypto: Crypto, readonly options: HandshakeOptions) {
    this.ss = new SymmetricState(crypto, NOISE_XX_PROTOCOL)
    this.ss.mixHash(options.prologue ?? new Uint8Array(0))
    this.s = options.staticKey
    this.e = options.ephemeralKey ?? crypto.x25519Generate()
  }

  get role(): Role {
    return this.options.role
  }

  isComplete(): boolean {
    return this.step === 'done'
  }

  /** Remote static key, known after message B (initiator) or C (responder). */
  remoteStatic(): Uint8Array | undefined {
    return this.rs
  }

  // -> e
  writeMessageA(payload: Uint8Array): Uint8Array {
    this.expect('initiator', 'A')
    this.ss.mixHash(this.e.publicKey)
    const body = this.ss.encryptAndHash(payload)
    this.step = 'B'
    return concat(this.e.publicKey, body)
  }

  readMessageA(message: Uint8Array): Uint8Array {
    this.expect('responder', 'A')
    checkLength(message, X25519_KEY_LENGTH)
    this.re = message.slice(0, X25519_KEY_LENGTH)
    this.ss.mixHash(this.re)
    const payload = this.ss.decryptAndHash(message.subarray(X25519_KEY_LENGTH))
    this.step = 'B'
    return payload
  }

  // <- e, ee, s, es
  writeMessageB(payload: Uint8Array): Uint8Array {
    this.expect('responder', 'B')
    const re = this.required(this.re)
    this.ss.mixHash(this.e.publicKey)
    this.ss.mixKey(this.crypto.x25519(this.e.secretKey, re))
    const encryptedStatic = this.ss.encryptAndHash(this.s.publicKey)
    this.ss.mixKey(this.crypto.x25519(this.s.secretKey, re))
    const body = this.ss.encryptAndHash(payload)
    this.step = 'C'
    return concat(this.e.publicKey, encryptedStatic, body)
  }

  readMessageB(message: Uint8Array): Uint8Array {
    this.expect('initiator', 'B')
    const staticLength = X25519_KEY_LENGTH + AES_GCM_TAG_LENGTH
    checkLength(message, X25519_KEY_LENGTH + staticLength + AES_GCM_TAG_LENGTH)
    const re = message.slice(0, X25519_KEY_LENGTH)
    this.re = re
    this.ss.mixHash(re)
    this.ss.mixKey(this.crypto.x25519(this.e.secretKey, re))
    const rs = this.ss.decryptAndHash(message.subarray(X25519_KEY_LENGTH, X25519_KEY_LENGTH + staticLength))
    this.rs = rs
    this.ss.mixKey(this.crypto.x25519(this.e.secretKey, rs))
    const payload = this.ss.decryptAndHash(message.subarray(X25519_KEY_LENGTH + staticLength))
    this.step = 'C'
    return payload
  }

  // -> s, se
  writeMessageC(payload: Uint8Array): Uint8Array {
    this.expect('initiator', 'C')
    const re = this.required(this.re)
    const encryptedStatic = this.ss.encryptAndHash(this.s.publicKey)
    this.ss.mixKey(this.crypto.x25519(this.s.secretKey, re))
    const body = this.ss.encryptAndHash(payload)
    this.step = 'done'
    return concat(encryptedStatic, body)
  }

  readMessageC(message: Uint8Array): Uint8Array {
    this.expect('responder', 'C')
    const staticLength = X25519_KEY_LENGTH + AES_GCM_TAG_LENGTH
    checkLength(message, staticLength + AES_GCM_TAG_LENGTH)
    const rs = this.ss.decryptAndHash(message.subarray(0, staticLength))
    this.rs = rs
    this.ss.mixKey(this.crypto.x25519(this.e.secretKey, rs))
    const payload = this.ss.decryptAndHash(message.subarray(staticLength))
    this.step = 'done'
    return payload
  }

  /** Split() once the pattern is done: the transport keys, oriented for our role. */
  result(): HandshakeResult {
    if (this.step !== 'done') throw new HandshakeError('handshake is not complete')
    const [initiatorToResponder, responderToInitiator] = this.ss.split()
    const initiator = this.options.role === 'initiator'
    return {
      handshakeHash: this.ss.handshakeHash(),
      remoteStatic: this.required(this.rs),
      sendKey: initiator ? initiatorToResponder : responderToInitiator,
      receiveKey: initiator ? responderToInitiator : initiatorToResponder
    }
  }

  private expect(role: Role, step: Step): void {
    if (this.options.role !== role || this.step !== step) {
      throw new HandshakeError(`unexpected handshake message ${step} for ${this.options.role} at step ${this.step}`)
    }
  }

  private required(value: Uint8Array | undefined): Uint8Array {
    if (value === undefined) throw new HandshakeError('handshake state is missing a key')
    return value
  }
}

function checkLength(message: Uint8Array, min: number): void {
  if (message.byteLength > NOISE_MAX_MESSAGE_LENGTH) throw new HandshakeError('handshake message too long')
  if (message.byteLength < min) throw new HandshakeError('handshake message too short')
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts)
}
