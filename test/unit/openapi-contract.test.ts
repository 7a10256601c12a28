import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OpenApiContract } from '../support/openapi-contract.js'

// The emulators are only as faithful as this check: it must catch what a real server would refuse
// or never send.
const oss = new OpenApiContract(new URL('../fixtures/influxdb-openapi/oss.yml', import.meta.url), 'oss-unit')
const v3 = new OpenApiContract(new URL('../fixtures/influxdb-openapi/enterprise-v3.yml', import.meta.url), 'v3-unit')
const token = { authorization: 'Token t', 'content-type': 'text/plain; charset=utf-8' }

test('request parameters: required ones missing, values outside their enumeration', () => {
  const missing = oss.check({ template: '/write', method: 'POST', query: new URLSearchParams(''), headers: token, hasBody: true, status: 204 })
  assert.ok(missing.some((m) => /query parameter bucket is required/.test(m)), missing.join('; '))
  assert.ok(missing.some((m) => /query parameter org is required/.test(m)), missing.join('; '))
  assert.deepEqual(oss.check({ template: '/write', method: 'POST', query: new URLSearchParams('org=o&bucket=b'), headers: token, hasBody: true, status: 204 }), [])
  const precision = oss.check({ template: '/write', method: 'POST', query: new URLSearchParams('org=o&bucket=b&precision=fortnight'), headers: token, hasBody: true, status: 204 })
  assert.ok(precision.some((m) => /precision=fortnight is not one of/.test(m)), precision.join('; '))
  assert.ok(v3.check({ template: '/api/v3/write_lp', method: 'POST', query: new URLSearchParams(''), headers: { authorization: 'Bearer t' }, status: 204 }).some((m) => /db is required/.test(m)))
  assert.ok(v3.check({ template: '/api/v3/configure/token', method: 'DELETE', query: new URLSearchParams(''), headers: { authorization: 'Bearer t' }, status: 200 }).some((m) => /token_name is required/.test(m)))
})

test('request headers: the authentication scheme and the body\'s content type', () => {
  const bearer = oss.check({ template: '/write', method: 'POST', query: new URLSearchParams('org=o&bucket=b'), headers: { ...token, authorization: 'Bearer t' }, hasBody: true, status: 204 })
  assert.ok(bearer.some((m) => /Authorization scheme/.test(m)), bearer.join('; '))
  const json = oss.check({ template: '/authorizations', method: 'POST', headers: { authorization: 'Token t', 'content-type': 'text/csv' }, hasBody: true, requestBody: {}, status: 400 })
  assert.ok(json.some((m) => /content type text\/csv is not one of application\/json/.test(m)), json.join('; '))
})

test('responses: a status the operation lists only as default, and a body the contract gives but was not sent', () => {
  assert.match(oss.check({ template: '/write', method: 'POST', status: 418 })[0] ?? '', /status 418 is not one the operation lists \(only as default\)/)
  assert.match(oss.check({ template: '/authorizations', method: 'GET', status: 200 })[0] ?? '', /the contract gives a body/)
  assert.deepEqual(oss.check({ template: '/authorizations/{authID}', method: 'DELETE', status: 204 }), [])
})
