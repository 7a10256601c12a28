import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeTicket, encodeTicket, newTicketCode, ticketCodeHash } from '../../src/authority/ticket.js'
import { DecodeError } from '../../src/encoding/errors.js'
import { nodeCrypto } from '../../src/crypto/node-crypto.js'
import { signRevocationList, verifyRevocationList } from '../../src/identity/revocation-list.js'
import { VerificationError } from '../../src/identity/errors.js'
import { newIdentity } from '../helpers.js'

const authority = newIdentity()
const member = newIdentity()
const NOW = Math.floor(Date.now() / 1000)

test('a ticket carries code, project, route and authority, and decodes back', () => {
  const t = { code: newTicketCode(), project: 'default', route: '/ip4/10.0.0.5/tcp/4000', authority: authority.identity.export() }
  const back = decodeTicket(encodeTicket(t))
  assert.deepEqual(back, { ...t, code: new Uint8Array(t.code), authority: new Uint8Array(t.authority) })
  assert.equal(ticketCodeHash(t.code).length, 64)
  assert.notEqual(ticketCodeHash(t.code), ticketCodeHash(newTicketCode()))
})

test('property: any string either decodes as a ticket or is a DecodeError', () => {
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64url'))), (text) => {
    try {
      decodeTicket(text)
    } catch (err) {
      assert.ok(err instanceof DecodeError, String(err))
    }
  }), { numRuns: 3000 })
  assert.throws(() => decodeTicket('A'.repeat(9000)), /too long/)
})

test('a revocation list verifies, and a tampered or foreign one does not', () => {
  const bytes = signRevocationList(nodeCrypto, authority.identity, authority.credentialSigningKey(), NOW, [{ identifier: member.identifier, revokedAt: NOW - 3 }])
  const list = verifyRevocationList(nodeCrypto, authority.identity, bytes, NOW)
  assert.deepEqual(list.revoked, [{ identifier: member.identifier, revokedAt: NOW - 3 }])
  assert.throws(() => verifyRevocationList(nodeCrypto, member.identity, bytes, NOW), VerificationError)
  const forged = signRevocationList(nodeCrypto, authority.identity, member.credentialSigningKey(), NOW, [])
  assert.throws(() => verifyRevocationList(nodeCrypto, authority.identity, forged, NOW), VerificationError)
  assert.throws(() => verifyRevocationList(nodeCrypto, authority.identity, bytes, NOW - 3600), /future/)
  fc.assert(fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
    const copy = Uint8Array.from(bytes)
    copy[i] = (copy[i] ?? 0) ^ x
    assert.throws(() => verifyRevocationList(nodeCrypto, authority.identity, copy, NOW), (e: unknown) => e instanceof VerificationError || e instanceof DecodeError)
  }), { numRuns: 500 })
})
