import type { Crypto } from '../crypto/crypto.js'
import { setNewest } from '../util/recency-map.js'

/** Verified signatures remembered; enough for every peer of a busy node to reconnect without re-verifying. */
export const SIGNATURE_CACHE_SIZE = 8192

/**
 * Remembers signatures that verified, keyed by a hash of (public key, message digest, signature),
 * the way Bitcoin Core's signature cache does. A peer that reconnects presents the same change
 * history, attestations and credentials, so its handshake skips Ed25519 verifications whose
 * answer cannot have changed. Only successes are kept; time windows are still checked each time.
 */
export class SignatureCache {
  private readonly entries = new Map<string, true>()
  enabled = process.env.PORTICO_SIGNATURE_CACHE !== 'off'

  constructor(private readonly capacity = SIGNATURE_CACHE_SIZE) {}

  verify(crypto: Crypto, publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
    if (!this.enabled) return crypto.ed25519Verify(publicKey, digest, signature)
    const key = Buffer.from(crypto.sha256(publicKey, digest, signature)).toString('base64')
    if (this.entries.has(key)) {
      setNewest(this.entries, key, true, this.capacity)
      return true
    }
    const ok = crypto.ed25519Verify(publicKey, digest, signature)
    if (ok) setNewest(this.entries, key, true, this.capacity)
    return ok
  }

  clear(): void {
    this.entries.clear()
  }
}

export const signatureCache = new SignatureCache()
