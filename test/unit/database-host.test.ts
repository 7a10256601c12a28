import { test } from 'node:test'
import { LeaseError } from '../../src/influxdb/leases/lease-types.js'
import assert from 'node:assert/strict'
import { validateHeaderValue } from 'node:http'
import fc from 'fast-check'
import { databaseHost } from '../../src/influxdb/backends/http.js'
import { parseLeaseGrant } from '../../src/influxdb/leases/lease-service.js'

test('the Host header for the database: its name, and its port unless the scheme implies it', () => {
  assert.equal(databaseHost({ to: 'influxdb.internal:8086', tls: false }), 'influxdb.internal:8086')
  assert.equal(databaseHost({ to: 'us-east-1-1.aws.cloud2.influxdata.com:443', tls: true }), 'us-east-1-1.aws.cloud2.influxdata.com')
  assert.equal(databaseHost({ to: 'proxy.lan:80', tls: false }), 'proxy.lan')
  // The default port of the other scheme is not left out.
  assert.equal(databaseHost({ to: 'db.lan:443', tls: false }), 'db.lan:443')
  assert.equal(databaseHost({ to: 'db.lan:80', tls: true }), 'db.lan:80')
  // A database reached by address but known by name (tls-server-name) is asked for by that name.
  assert.equal(databaseHost({ to: '10.0.0.5:443', tls: true, serverName: 'influx.example.com' }), 'influx.example.com')
  assert.equal(databaseHost({ to: '10.0.0.5:8086', tls: true, serverName: 'influx.example.com' }), 'influx.example.com:8086')
  assert.equal(databaseHost({ to: '[fd00::5]:8086', tls: false }), '[fd00::5]:8086')
})

const grant = (host: unknown): Record<string, unknown> => ({ id: 'l', expiresAt: 1, authorization: 'Token t', token: 't', backend: 'v2', permissions: [], host })

test("an outlet's Host for the database is taken only as a plain host[:port], which is always a valid header value", () => {
  for (const endpoint of [{ to: 'db.lan:8086', tls: false }, { to: 'cloud.example.com:443', tls: true }, { to: '[fd00::5]:8086', tls: false }, { to: 'influxdb_1:8086', tls: false }]) {
    assert.equal(parseLeaseGrant(grant(databaseHost(endpoint))).host, databaseHost(endpoint))
  }
  assert.equal(parseLeaseGrant(grant(undefined)).host, undefined)
  for (const hostile of ['db.lan\r\nX-Evil: 1', 'db.lan 8086', 'a/b', '', 'x'.repeat(300), 'db.lan:8086:1', '[::1', 'user@db.lan']) {
    assert.throws(() => parseLeaseGrant(grant(hostile)), /lease grant is not usable: bad host/, JSON.stringify(hostile))
  }
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
    let host: string | undefined
    try {
      host = parseLeaseGrant(grant(s)).host
    } catch (err) {
      assert.ok(err instanceof LeaseError)
      return
    }
    // Whatever is accepted can go into a request without Node refusing it (or a proxy misreading it).
    assert.ok(host !== undefined)
    validateHeaderValue('host', host)
    assert.doesNotMatch(host, /[\s/@?#]/)
  }), { numRuns: 5000 })
})

test("an outlet's credential is taken only as a valid Authorization value, and a refusal never repeats it", () => {
  const withAuth = (authorization: unknown, token: unknown = 't'): Record<string, unknown> => ({ id: 'l', expiresAt: 1, authorization, token, backend: 'v2', permissions: [] })
  for (const good of ['Token abc==', 'Bearer eyJ.eyJ.sig', 'Basic dTpw']) assert.equal(parseLeaseGrant(withAuth(good)).authorization, good)
  for (const hostile of ['Token a\r\nX-Evil: 1', 'Token a\nb', 'Token', 'Token  two spaces', 'Token tab\there', ' Token x', 'Token é', '', 'Token ' + 'x'.repeat(9000), 42]) {
    assert.throws(() => parseLeaseGrant(withAuth(hostile)), (err: Error) => err instanceof LeaseError && /bad authorization/.test(err.message) && (typeof hostile !== 'string' || hostile === '' || !err.message.includes(hostile)), JSON.stringify(hostile))
  }
  assert.throws(() => parseLeaseGrant(withAuth('Token fine', 'sec ret')), /bad token/)
  fc.assert(fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 40 }), (scheme, credential) => {
    let authorization: string
    try {
      authorization = parseLeaseGrant(withAuth(`${scheme} ${credential}`)).authorization
    } catch (err) {
      // The whole message is fixed: nothing of the value is in it.
      assert.ok(err instanceof LeaseError && err.message === "the outlet's lease grant is not usable: bad authorization", String(err))
      return
    }
    validateHeaderValue('authorization', authorization)
  }), { numRuns: 5000 })
})

test("a grant's remaining life is taken as sent; an older outlet's grant without it is timed from its expiresAt", () => {
  assert.equal(parseLeaseGrant({ ...grant(undefined), expiresAt: 5, expiresInMs: 60_000 }).expiresInMs, 60_000)
  const fromOld = parseLeaseGrant({ ...grant(undefined), expiresAt: Date.now() + 60_000 }).expiresInMs
  assert.ok(fromOld > 50_000 && fromOld <= 60_000, String(fromOld))
  assert.equal(parseLeaseGrant({ ...grant(undefined), expiresAt: 1 }).expiresInMs, 0, 'an expired grant has no life left, not a negative one')
  for (const bad of [-1, 1.5, '60000', Number.POSITIVE_INFINITY]) {
    assert.throws(() => parseLeaseGrant({ ...grant(undefined), expiresInMs: bad }), /bad expiresInMs/, String(bad))
  }
})
