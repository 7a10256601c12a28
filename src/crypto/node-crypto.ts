import { joinParts, partsLength, rangeOfParts, sliceParts } from '../encoding/parts.js'
import {
  createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey,
  diffieHellman, generateKeyPairSync, randomBytes, sign, verify, type KeyObject
} from 'node:crypto'
import {
  AES_GCM_TAG_LENGTH, AuthenticationError, InvalidKeyError, X25519_KEY_LENGTH,
  type Crypto, type KeyPair
} from './crypto.js'

// DER prefix that wraps a raw 32-byte secret into PKCS#8, since node:crypto has no raw import.
// Public keys go through JWK instead: importing one that way is about 15x faster than DER here,
// and a handshake imports two.
const PKCS8_PREFIX = {
  ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
  x25519: Buffer.from('302e020100300506032b656e04220420', 'hex')
}
const JWK_CURVE = { ed25519: 'Ed25519', x25519: 'X25519' } as const
type Curve = keyof typeof PKCS8_PREFIX

// KeyObject creation costs more than the operation it serves; cache per key buffer instance.
const privateCache = new WeakMap<Uint8Array, KeyObject>()
const publicCache = new WeakMap<Uint8Array, KeyObject>()

function privateKey(curve: Curve, raw: Uint8Array): KeyObject {
  let key = privateCache.get(raw)
  if (key === undefined) {
    if (raw.byteLength !== 32) throw new InvalidKeyError(`${curve} secret key must be 32 bytes`)
    key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX[curve], raw]), format: 'der', type: 'pkcs8' })
    privateCache.set(raw, key)
  }
  return key
}

function publicKey(curve: Curve, raw: Uint8Array): KeyObject {
  let key = publicCache.get(raw)
  if (key === undefined) {
    if (raw.byteLength !== 32) throw new InvalidKeyError(`${curve} public key must be 32 bytes`)
    const x = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url')
    key = createPublicKey({ key: { kty: 'OKP', crv: JWK_CURVE[curve], x }, format: 'jwk' })
    publicCache.set(raw, key)
  }
  return key
}

// Node 20.20's JWK export of a private key hangs now and then inside OpenSSL (seen here with
// x25519: about one run in ten of a few thousand generations never returns), so raw key bytes are
// read from the DER encodings instead: PKCS#8 and SPKI end with the 32 raw bytes for both curves.
const SPKI_PREFIX = {
  ed25519: Buffer.from('302a300506032b6570032100', 'hex'),
  x25519: Buffer.from('302a300506032b656e032100', 'hex')
}

function rawTail(der: Buffer, prefix: Buffer, what: string): Uint8Array {
  if (der.byteLength !== prefix.byteLength + 32 || !der.subarray(0, prefix.byteLength).equals(prefix)) {
    throw new InvalidKeyError(`unexpected ${what} encoding`)
  }
  return new Uint8Array(der.subarray(prefix.byteLength))
}

function rawPrivate(curve: Curve, key: KeyObject): Uint8Array {
  return rawTail(key.export({ format: 'der', type: 'pkcs8' }), PKCS8_PREFIX[curve], `${curve} private key`)
}

function rawPublic(curve: Curve, key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  return rawTail(pub.export({ format: 'der', type: 'spki' }), SPKI_PREFIX[curve], `${curve} public key`)
}

function generate(curve: Curve): KeyPair {
  const pair = curve === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('x25519')
  const secretKey = rawPrivate(curve, pair.privateKey)
  privateCache.set(secretKey, pair.privateKey)
  return { publicKey: rawPublic(curve, pair.publicKey), secretKey }
}

function fromSecret(curve: Curve, secretKey: Uint8Array): KeyPair {
  return { publicKey: rawPublic(curve, privateKey(curve, secretKey)), secretKey }
}

export const nodeCrypto: Crypto = {
  randomBytes: (length) => new Uint8Array(randomBytes(length)),

  sha256(...parts) {
    const h = createHash('sha256')
    for (const p of parts) h.update(p)
    return new Uint8Array(h.digest())
  },

  hmacSha256(key, ...parts) {
    const h = createHmac('sha256', key)
    for (const p of parts) h.update(p)
    return new Uint8Array(h.digest())
  },

  ed25519Generate: () => generate('ed25519'),
  ed25519FromSecret: (secretKey) => fromSecret('ed25519', secretKey),
  ed25519Sign: (secretKey, message) => new Uint8Array(sign(null, message, privateKey('ed25519', secretKey))),
  ed25519Verify(pub, message, signature) {
    if (signature.byteLength !== 64) return false
    try {
      return verify(null, message, publicKey('ed25519', pub), signature)
    } catch {
      return false
    }
  },

  x25519Generate: () => generate('x25519'),
  x25519FromSecret: (secretKey) => fromSecret('x25519', secretKey),
  x25519(secretKey, pub) {
    let shared: Buffer
    try {
      shared = diffieHellman({ privateKey: privateKey('x25519', secretKey), publicKey: publicKey('x25519', pub) })
    } catch (err) {
      throw new InvalidKeyError('invalid X25519 public key', { cause: err })
    }
    if (shared.byteLength !== X25519_KEY_LENGTH || shared.every((b) => b === 0)) {
      throw new InvalidKeyError('X25519 produced a low-order shared secret')
    }
    return new Uint8Array(shared.buffer, shared.byteOffset, shared.byteLength)
  },

  aesGcmEncrypt(key, nonce, ad, plaintext) {
    return Buffer.concat(nodeCrypto.aesGcmSeal(key, nonce, ad, plaintext))
  },

  aesGcmSeal(key, nonce, ad, plaintext) {
    const c = createCipheriv('aes-256-gcm', key, nonce)
    if (ad.byteLength > 0) c.setAAD(ad)
    const parts: Uint8Array[] = []
    if (plaintext instanceof Uint8Array) parts.push(c.update(plaintext))
    else for (const p of plaintext) if (p.byteLength > 0) parts.push(c.update(p))
    const last = c.final()
    if (last.byteLength > 0) parts.push(last)
    parts.push(c.getAuthTag())
    return parts
  },

  aesGcmDecrypt(key, nonce, ad, ciphertext) {
    return joinParts(nodeCrypto.aesGcmOpen(key, nonce, ad, [ciphertext]))
  },

  aesGcmOpen(key, nonce, ad, ciphertext) {
    const length = partsLength(ciphertext)
    if (length < AES_GCM_TAG_LENGTH) throw new AuthenticationError('ciphertext shorter than its tag')
    const split = length - AES_GCM_TAG_LENGTH
    const d = createDecipheriv('aes-256-gcm', key, nonce)
    d.setAuthTag(rangeOfParts(ciphertext, split, length))
    if (ad.byteLength > 0) d.setAAD(ad)
    const out: Uint8Array[] = []
    for (const p of sliceParts(ciphertext, 0, split)) out.push(d.update(p))
    try {
      const tail = d.final()
      if (tail.byteLength > 0 || out.length === 0) out.push(tail)
    } catch (err) {
      throw new AuthenticationError('decryption failed: tag mismatch', { cause: err })
    }
    return out
  }
}
