import type { Crypto, KeyPair } from '../crypto/crypto.js'
import { fromHex, toHex } from '../encoding/hex.js'
import { decodeChangeHistory, encodeChangeData, encodeChangeHistory, verifyChangeHistory, type Change } from './change-history.js'
import { identifierFromBytes, type Identifier } from './identifier.js'
import { nowSeconds, signData } from './signed-data.js'

/** Ockam's default: a primary key may attest purpose keys for ten years. */
export const DEFAULT_IDENTITY_VALIDITY_SECONDS = 10 * 365 * 24 * 3600

/**
 * A verified identity: its change history and what follows from it. Instances only come from
 * `importIdentity` or `createIdentity`, so holding one means the history verified.
 */
export class Identity {
  private constructor(
    readonly identifier: Identifier,
    readonly changes: readonly Change[],
    private readonly bytes: Uint8Array
  ) {}

  static fromVerified(changes: readonly Change[], bytes: Uint8Array): Identity {
    const first = changes[0]
    if (first === undefined) throw new Error('identity without changes')
    return new Identity(identifierFromBytes(first.hash), changes, bytes)
  }

  get latest(): Change {
    const last = this.changes[this.changes.length - 1]
    if (last === undefined) throw new Error('identity without changes')
    return last
  }

  get primaryPublicKey(): Uint8Array {
    return this.latest.change.primaryPublicKey
  }

  get latestChangeHash(): Uint8Array {
    return this.latest.hash
  }

  /** The exact bytes the history was imported from, so export(import(x)) === x. */
  export(): Uint8Array {
    return this.bytes
  }

  exportHex(): string {
    return toHex(this.bytes)
  }
}

export function importIdentity(crypto: Crypto, bytes: Uint8Array): Identity {
  const changes = decodeChangeHistory(crypto, bytes)
  verifyChangeHistory(crypto, changes)
  return Identity.fromVerified(changes, bytes)
}

export function importIdentityHex(crypto: Crypto, hex: string): Identity {
  return importIdentity(crypto, fromHex(hex.trim()))
}

export interface ChangeOptions {
  now?: number
  validitySeconds?: number
  revokeAllPurposeKeys?: boolean
}

/** A new identity whose first change is signed by `primary`. */
export function createIdentity(crypto: Crypto, primary: KeyPair, options: ChangeOptions = {}): Identity {
  const now = options.now ?? nowSeconds()
  const { data, hash } = encodeChangeData(crypto, {
    previousChangeHash: null,
    primaryPublicKey: primary.publicKey,
    revokeAllPurposeKeys: options.revokeAllPurposeKeys ?? false,
    attestationsValidFrom: now,
    attestationsValidUntil: now + (options.validitySeconds ?? DEFAULT_IDENTITY_VALIDITY_SECONDS)
  })
  const change = { data, hash, signature: signData(crypto, primary.secretKey, data), previousSignature: null }
  return importIdentity(crypto, encodeChangeHistory([change]))
}

/** Key rotation: appends a change signed by the new key and by the previous one. */
export function rotateIdentity(crypto: Crypto, identity: Identity, previous: KeyPair, next: KeyPair, options: ChangeOptions = {}): Identity {
  const now = Math.max(options.now ?? nowSeconds(), identity.latest.change.attestationsValidFrom)
  const { data } = encodeChangeData(crypto, {
    previousChangeHash: identity.latestChangeHash,
    primaryPublicKey: next.publicKey,
    revokeAllPurposeKeys: options.revokeAllPurposeKeys ?? false,
    attestationsValidFrom: now,
    attestationsValidUntil: now + (options.validitySeconds ?? DEFAULT_IDENTITY_VALIDITY_SECONDS)
  })
  const change = {
    data,
    signature: signData(crypto, next.secretKey, data),
    previousSignature: signData(crypto, previous.secretKey, data)
  }
  return importIdentity(crypto, encodeChangeHistory([...identity.changes, change]))
}
