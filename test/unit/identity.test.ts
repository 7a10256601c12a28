import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { nodeCrypto as c } from '../../src/crypto/node-crypto.js'
import { createIdentity, importIdentity, importIdentityHex, rotateIdentity } from '../../src/identity/identity.js'
import { decodeChangeHistory, encodeChangeHistory } from '../../src/identity/change-history.js'
import { LocalIdentity } from '../../src/identity/local-identity.js'
import { MemoryVault } from '../../src/identity/vault.js'
import { fromHex, toHex } from '../../src/encoding/hex.js'
import { verifyPurposeKeyAttestation, Purpose, attestPurposeKey } from '../../src/identity/purpose-key.js'

const vector = (JSON.parse(readFileSync(new URL('../fixtures/vectors/identity.json', import.meta.url), 'utf8')) as {
  vectors: { change_history_hex: string; identifier: string; primary_public_key_hex: string; attestations_valid_from: number; attestations_valid_until: number }[]
}).vectors[0]!

test('imports the Ockam identity vector: identifier, key, validity, signature, same bytes out', () => {
  const id = importIdentityHex(c, vector.change_history_hex)
  assert.equal(id.identifier, vector.identifier)
  assert.equal(toHex(id.primaryPublicKey), vector.primary_public_key_hex)
  assert.equal(id.latest.change.attestationsValidFrom, vector.attestations_valid_from)
  assert.equal(id.latest.change.attestationsValidUntil, vector.attestations_valid_until)
  assert.equal(id.exportHex(), vector.change_history_hex)
  // Re-encoding from the decoded structure must also give the same bytes (canonical CBOR).
  assert.equal(toHex(encodeChangeHistory(decodeChangeHistory(c, fromHex(vector.change_history_hex)))), vector.change_history_hex)
})

test('a flipped bit anywhere in the Ockam vector is refused', () => {
  const bytes = fromHex(vector.change_history_hex)
  fc.assert(fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
    const copy = bytes.slice()
    copy[bit >> 3]! ^= 1 << (bit & 7)
    let ok = false
    try {
      ok = importIdentity(c, copy).identifier === vector.identifier
    } catch (err) {
      assert.ok(err instanceof Error && ['DecodeError', 'VerificationError'].includes(err.name), String(err))
    }
    assert.equal(ok, false)
  }), { numRuns: 300 })
})

test('create, rotate twice, verify the whole chain; identifier stays the same', () => {
  const k1 = c.ed25519Generate(), k2 = c.ed25519Generate(), k3 = c.ed25519Generate()
  const a = createIdentity(c, k1)
  const b = rotateIdentity(c, a, k1, k2)
  const d = rotateIdentity(c, b, k2, k3)
  const imported = importIdentity(c, d.export())
  assert.equal(imported.identifier, a.identifier)
  assert.equal(imported.changes.length, 3)
  assert.equal(toHex(imported.primaryPublicKey), toHex(k3.publicKey))
})

test('rotation signed only by the new key, or by a stranger, is refused', () => {
  const k1 = c.ed25519Generate(), k2 = c.ed25519Generate(), stranger = c.ed25519Generate()
  const a = createIdentity(c, k1)
  const forged = rotateIdentity(c, createIdentity(c, stranger), stranger, k2)
  // Splice the stranger's second change onto a's history: the hash link breaks.
  const changes = [...a.changes, forged.changes[1]!]
  assert.throws(() => importIdentity(c, encodeChangeHistory(changes)), /does not link/)
  const good = rotateIdentity(c, a, k1, k2)
  const noPrev = [good.changes[0]!, { ...good.changes[1]!, previousSignature: null }]
  assert.throws(() => importIdentity(c, encodeChangeHistory(noPrev)), /previous key/)
  const wrongPrev = [good.changes[0]!, { ...good.changes[1]!, previousSignature: c.ed25519Sign(stranger.secretKey, c.sha256(good.changes[1]!.data)) }]
  assert.throws(() => importIdentity(c, encodeChangeHistory(wrongPrev)), /signature does not verify/)
})

test('purpose key attestations: verified for the right identity, purpose and time only', () => {
  const local = LocalIdentity.create(c, new MemoryVault())
  const sc = local.secureChannelKey()
  const a = verifyPurposeKeyAttestation(c, local.identity, sc.attestation.encoded, Purpose.SecureChannel)
  assert.equal(toHex(a.publicKey), toHex(sc.key.publicKey))
  assert.throws(() => verifyPurposeKeyAttestation(c, local.identity, sc.attestation.encoded, Purpose.CredentialSigning), /another purpose/)
  const other = LocalIdentity.create(c, new MemoryVault())
  assert.throws(() => verifyPurposeKeyAttestation(c, other.identity, sc.attestation.encoded, Purpose.SecureChannel), /another identity/)
  const k = c.ed25519Generate()
  const id = createIdentity(c, k)
  const old = attestPurposeKey(c, id, k.secretKey, Purpose.SecureChannel, c.x25519Generate(), { validitySeconds: 10 })
  assert.throws(() => verifyPurposeKeyAttestation(c, id, old.encoded, Purpose.SecureChannel, old.createdAt + 11), { name: 'ExpiredError' })
})

test('rotation retires purpose keys attested by the old primary key', () => {
  const vault = new MemoryVault()
  const local = LocalIdentity.create(c, vault)
  const before = local.secureChannelKey().attestation.encoded
  const rotated = local.rotate(vault)
  assert.throws(() => verifyPurposeKeyAttestation(c, rotated, before, Purpose.SecureChannel), /outdated/)
  assert.doesNotThrow(() => verifyPurposeKeyAttestation(c, rotated, local.secureChannelKey().attestation.encoded, Purpose.SecureChannel))
})

test('change history decoder: arbitrary bytes give a DecodeError or VerificationError, never anything else', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    try {
      importIdentity(c, bytes)
    } catch (err) {
      assert.ok(err instanceof Error && ['DecodeError', 'VerificationError'].includes(err.name), String(err))
    }
  }), { numRuns: 2000 })
})
