import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { nodeCrypto as c } from '../../src/crypto/node-crypto.js'
import { LocalIdentity } from '../../src/identity/local-identity.js'
import { MemoryVault } from '../../src/identity/vault.js'
import { decodeCredential, verifyCredential } from '../../src/identity/credential.js'
import { nowSeconds } from '../../src/identity/signed-data.js'

const authority = LocalIdentity.create(c, new MemoryVault())
const member = LocalIdentity.create(c, new MemoryVault())
const stranger = LocalIdentity.create(c, new MemoryVault())

test('a credential verifies for its subject with its attributes', () => {
  const cred = authority.issueCredential(member.identity, { 'influxdb-inlet': 'true', bucket: 'dev-1' })
  const v = verifyCredential(c, authority.identity, member.identity, cred)
  assert.equal(v.attributes['influxdb-inlet'], 'true')
  assert.equal(v.attributes.bucket, 'dev-1')
  assert.equal(v.issuer, authority.identifier)
})

test('untrusted issuer, wrong subject, expired and clock-skewed credentials are refused', () => {
  const cred = authority.issueCredential(member.identity, { a: 'b' }, { ttlSeconds: 60 })
  assert.throws(() => verifyCredential(c, stranger.identity, member.identity, cred), /another identity/)
  assert.throws(() => verifyCredential(c, authority.identity, stranger.identity, cred), /another identity/)
  assert.throws(() => verifyCredential(c, authority.identity, member.identity, cred, nowSeconds() + 61), { name: 'ExpiredError' })
  const future = authority.issueCredential(member.identity, { a: 'b' }, { now: nowSeconds() + 61 })
  assert.throws(() => verifyCredential(c, authority.identity, member.identity, future), /clock skew/)
  const slight = authority.issueCredential(member.identity, { a: 'b' }, { now: nowSeconds() + 30 })
  assert.doesNotThrow(() => verifyCredential(c, authority.identity, member.identity, slight))
})

test('a credential signed by a key the authority did not attest is refused', () => {
  const cred = stranger.issueCredential(member.identity, { admin: 'true' })
  const forged = { credential: cred.credential, purposeKey: authority.credentialSigningKey().attestation.encoded }
  assert.throws(() => verifyCredential(c, authority.identity, member.identity, forged), /signature does not verify/)
})

test('tampering with any byte of a credential is detected', () => {
  const cred = authority.issueCredential(member.identity, { role: 'device' })
  fc.assert(fc.property(fc.integer({ min: 0, max: cred.credential.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
    const tampered = cred.credential.slice()
    tampered[i]! ^= x
    assert.throws(() => verifyCredential(c, authority.identity, member.identity, { ...cred, credential: tampered }))
  }), { numRuns: 300 })
})

test('credential decoder never throws anything but DecodeError on garbage', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
    try {
      decodeCredential(bytes)
    } catch (err) {
      assert.equal((err as Error).name, 'DecodeError')
    }
  }), { numRuns: 2000 })
})
