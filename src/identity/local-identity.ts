import type { Crypto, KeyPair } from '../crypto/crypto.js'
import { toHex } from '../encoding/hex.js'
import { VaultError, type Vault } from './vault.js'
import { createIdentity, rotateIdentity, type Identity } from './identity.js'
import { attestPurposeKey, Purpose, type PurposeKeyAttestation } from './purpose-key.js'
import { issueCredential, type Attributes, type CredentialAndPurposeKey } from './credential.js'

export interface PurposeKey {
  key: KeyPair
  attestation: PurposeKeyAttestation
}

/**
 * An identity whose primary secret we hold. Purpose keys are made per process and attested on
 * first use: they never need to outlive the process, and a fresh one limits what a leak exposes.
 */
export class LocalIdentity {
  private secureChannel: PurposeKey | undefined
  private credentialSigning: PurposeKey | undefined

  constructor(private readonly crypto: Crypto, private current: Identity, private primary: KeyPair) {}

  static create(crypto: Crypto, vault: Vault): LocalIdentity {
    const primary = crypto.ed25519Generate()
    vault.put(toHex(primary.publicKey), 'ed25519', primary.secretKey)
    return new LocalIdentity(crypto, createIdentity(crypto, primary), primary)
  }

  static load(crypto: Crypto, vault: Vault, identity: Identity): LocalIdentity {
    const entry = vault.get(toHex(identity.primaryPublicKey))
    if (entry === undefined || entry.type !== 'ed25519') {
      throw new VaultError(`the vault holds no primary key for identity ${identity.identifier}`)
    }
    return new LocalIdentity(crypto, identity, crypto.ed25519FromSecret(entry.secret))
  }

  get identity(): Identity {
    return this.current
  }

  get identifier(): string {
    return this.current.identifier
  }

  /** Appends a change with a new primary key; the old key stays in the vault until deleted. */
  rotate(vault: Vault): Identity {
    const next = this.crypto.ed25519Generate()
    vault.put(toHex(next.publicKey), 'ed25519', next.secretKey)
    this.current = rotateIdentity(this.crypto, this.current, this.primary, next)
    this.primary = next
    this.secureChannel = undefined
    this.credentialSigning = undefined
    return this.current
  }

  secureChannelKey(): PurposeKey {
    this.secureChannel ??= this.attest(Purpose.SecureChannel, this.crypto.x25519Generate())
    return this.secureChannel
  }

  credentialSigningKey(): PurposeKey {
    this.credentialSigning ??= this.attest(Purpose.CredentialSigning, this.crypto.ed25519Generate())
    return this.credentialSigning
  }

  issueCredential(subject: Identity, attributes: Attributes, options: { now?: number; ttlSeconds?: number } = {}): CredentialAndPurposeKey {
    const signing = this.credentialSigningKey()
    return issueCredential(this.crypto, { attestation: signing.attestation, secretKey: signing.key.secretKey }, subject, attributes, options)
  }

  private attest(purpose: Purpose, key: KeyPair): PurposeKey {
    return { key, attestation: attestPurposeKey(this.crypto, this.current, this.primary.secretKey, purpose, key) }
  }
}
