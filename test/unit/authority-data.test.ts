import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeTicket, encodeTicket, newTicketCode, ticketCodeHash } from '../../src/authority/ticket.js'
import { DecodeError } from '../../src/encoding/errors.js'
import { encodeCbor } from '../../src/encoding/cbor.js'
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
  assert.deepEqual(back, { ...t, code: new Uint8Array(t.code), authority: new Uint8Array(t.authority), replicas: [t.route] })
  assert.equal(ticketCodeHash(t.code).length, 64)
  assert.notEqual(ticketCodeHash(t.code), ticketCodeHash(newTicketCode()))
})

test('a ticket names every replica of the project; a version 1 ticket (one route, from an earlier release) still decodes', () => {
  const replicas = ['/ip4/10.0.0.5/tcp/4000', '/ip4/10.0.0.6/tcp/4000', '/dnsaddr/p3.example/tcp/4000']
  const t = { code: newTicketCode(), project: 'fleet', route: '/ip4/10.0.0.6/tcp/4000', authority: authority.identity.export(), replicas }
  assert.deepEqual(decodeTicket(encodeTicket(t)).replicas, replicas)
  const v1 = Buffer.from(encodeCbor([1, t.code, t.project, t.route, t.authority])).toString('base64url')
  const old = decodeTicket(v1)
  assert.equal(old.route, t.route)
  assert.equal(old.replicas, undefined)
})

test('hostile tickets: replicas that leave out the route, too many replicas, a field count that does not match the version', () => {
  const base = [newTicketCode(), 'fleet', '/ip4/10.0.0.5/tcp/4000', authority.identity.export()]
  const text = (fields: unknown[]): string => Buffer.from(encodeCbor(fields as never)).toString('base64url')
  assert.throws(() => decodeTicket(text([2, ...base, ['/ip4/10.0.0.6/tcp/4000']])), (e) => e instanceof DecodeError && /not among its replicas/.test(e.message))
  assert.throws(() => decodeTicket(text([2, ...base, Array.from({ length: 17 }, (_, i) => `/ip4/10.0.0.${i}/tcp/4000`)])), (e) => e instanceof DecodeError && /replicas/.test(e.message))
  assert.throws(() => decodeTicket(text([2, ...base, []])), DecodeError)
  assert.throws(() => decodeTicket(text([2, ...base, [7]])), DecodeError)
  assert.throws(() => decodeTicket(text([1, ...base, ['/ip4/10.0.0.5/tcp/4000']])), (e) => e instanceof DecodeError && /fields/.test(e.message))
  assert.throws(() => decodeTicket(text([2, ...base])), (e) => e instanceof DecodeError && /fields/.test(e.message))
  assert.throws(() => decodeTicket(text([3, ...base, ['/ip4/10.0.0.5/tcp/4000']])), /unsupported ticket version/)
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
