import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gateRequest, originForm, type GatedLease, type Verdict } from '../../src/influxdb/gate/api-gate.js'
import type { Permission } from '../../src/influxdb/backends/backend.js'

const bucket = (action: 'read' | 'write', name: string): Permission => ({ action, resource: { type: 'buckets', name } })
const writer: GatedLease = { backend: 'v1', permissions: [bucket('write', 'site-7')] }
const reader: GatedLease = { backend: 'v1', permissions: [bucket('read', 'site-7')] }
const ask = (lease: GatedLease, method: string, url: string, headers: string[] = [], versionMajor = 1): Verdict => gateRequest({ method, url, versionMajor, headers }, lease)
const status = (v: Verdict): number => v.kind === 'refuse' ? v.status : 200

test('only the InfluxDB API of the lease\'s backend is forwarded: /debug, the admin API and the rest get 403', () => {
  for (const path of ['/debug/vars', '/debug/pprof/', '/debug/pprof/cmdline', '/debug/requests', '/api/v2/authorizations', '/', '/writex', '/write/', '/qu%65ry', '//write', '/api/v2/write'])
    assert.equal(status(ask(writer, 'POST', `${path}?db=site-7`)), 403, path)
  assert.equal(status(ask(writer, 'POST', '/write?db=site-7')), 200)
  assert.equal(status(ask(writer, 'GET', '/ping')), 200)
  assert.equal(status(ask(writer, 'HEAD', '/ping')), 200)
  assert.equal(status(ask(writer, 'PUT', '/write?db=site-7')), 405)
  const v2: GatedLease = { backend: 'v2', permissions: [bucket('write', 'site-7')] }
  assert.equal(status(ask(v2, 'POST', '/api/v2/write?org=o&bucket=site-7')), 200)
  assert.equal(status(ask(v2, 'POST', '/api/v2/write?org=o&bucket=other')), 403)
  assert.equal(status(ask(v2, 'POST', '/api/v2/query?org=o')), 403, 'a write lease may not query')
  assert.equal(status(ask(v2, 'GET', '/api/v2/buckets')), 403)
  const v3: GatedLease = { backend: 'v3', permissions: [bucket('read', 'site-7')] }
  assert.equal(status(ask(v3, 'GET', '/api/v3/query_sql?db=site-7&q=SELECT%201')), 200)
  assert.equal(status(ask(v3, 'GET', '/api/v3/query_sql?db=other&q=SELECT%201')), 403)
  assert.equal(status(ask(v3, 'GET', '/api/v3/configure/token/admin')), 403)
  assert.equal(status(ask(v3, 'POST', '/api/v3/write_lp?db=site-7')), 403, 'a read lease may not write')
})

test('a write names only the lease\'s databases, in every way a server could read its parameters', () => {
  for (const url of ['/write?db=secret', '/write?db=site-7&db=secret', '/write?db=site-7;db=secret', '/write?d%62=secret', '/write?db=sec%72et', '/write?db=%zz'])
    assert.notEqual(status(ask(writer, 'POST', url)), 200, url)
  assert.equal(status(ask(writer, 'POST', '/write?db=site-7&precision=s')), 200)
})

test('request targets: absolute form becomes origin form, HTTP/0.9 and non-path targets get 400', () => {
  assert.equal(originForm('http://evil.example:9999/write?db=x'), '/write?db=x')
  assert.equal(originForm('HTTPS://evil.example'), '/')
  assert.equal(originForm('*'), undefined)
  const v = ask(writer, 'POST', 'http://evil.example:9999/write?db=site-7')
  assert.equal(v.kind === 'forward' ? v.target : v.kind, '/write?db=site-7')
  assert.equal(status(ask(writer, 'GET', '/ping', [], 0)), 400)
  assert.equal(status(ask(writer, 'OPTIONS', '*')), 400)
})

test('queries are judged in the query string and in a form or JSON body, never skipped', () => {
  assert.equal(status(ask(reader, 'GET', '/query?db=site-7&q=SELECT%20*%20FROM%20m')), 200)
  assert.equal(status(ask(reader, 'GET', '/query?db=site-7&q=DROP%20DATABASE%20x')), 403)
  assert.equal(status(ask(reader, 'GET', '/query?db=secret&q=SELECT%20*%20FROM%20m')), 403)
  // node-influx sends params={} with every query: harmless while no statement has a $name in it.
  assert.equal(status(ask(reader, 'GET', '/query?db=site-7&q=SELECT+*+FROM+m&params=%7B%7D')), 200)
  assert.equal(status(ask(reader, 'GET', '/query?db=site-7&q=SELECT+*+FROM+%24db..m&params=%7B%22db%22%3A%7B%22identifier%22%3A%22secret%22%7D%7D')), 403)
  assert.equal(status(ask(writer, 'GET', '/query?db=site-7&q=SELECT%201')), 403, 'a write lease may not query')
  const form = ask(reader, 'POST', '/query?db=site-7', ['Content-Type', 'application/x-www-form-urlencoded; charset=utf-8'])
  assert.equal(form.kind, 'body')
  if (form.kind !== 'body') return
  assert.equal(form.check(Buffer.from('q=SELECT+*+FROM+m')), undefined)
  assert.equal(form.check(Buffer.from('q=SELECT+*+FROM+m&q=CREATE+CONTINUOUS+QUERY+c+ON+x+BEGIN+SELECT+*+INTO+y+FROM+z+END'))?.status, 403)
  assert.equal(form.check(Buffer.from('db=secret&q=SELECT+*+FROM+m'))?.status, 403)
  assert.equal(form.check(Buffer.from([0x71, 0x3d, 0xff, 0xfe]))?.status, 400)
  assert.equal(status(ask(reader, 'POST', '/query', ['Content-Type', 'multipart/form-data; boundary=x'])), 415)
  assert.equal(status(ask(reader, 'POST', '/query', ['Content-Type', 'application/x-www-form-urlencoded', 'Content-Encoding', 'gzip'])), 415)
  const v3: GatedLease = { backend: 'v3', permissions: [bucket('read', 'site-7')] }
  const json = ask(v3, 'POST', '/api/v3/query_influxql', ['Content-Type', 'application/json'])
  assert.equal(json.kind, 'body')
  if (json.kind !== 'body') return
  assert.equal(json.check(Buffer.from('{"db":"site-7","q":"SHOW MEASUREMENTS"}')), undefined)
  assert.equal(json.check(Buffer.from('{"db":"site-7","q":"SELECT * INTO x FROM m"}'))?.status, 403)
  assert.equal(json.check(Buffer.from('{"db":"secret","q":"SELECT 1"}'))?.status, 403)
  assert.equal(json.check(Buffer.from('{"db":["site-7"]}'))?.status, 400)
  assert.equal(json.check(Buffer.from('not json'))?.status, 400)
})

test('an org-wide permission (neither id nor name) allows every bucket of its action, and only of it', () => {
  const orgWide: GatedLease = { backend: 'v2', permissions: [{ action: 'write', resource: { type: 'buckets', orgID: 'o1' } }] }
  assert.equal(status(ask(orgWide, 'POST', '/api/v2/write?org=o&bucket=anything')), 200)
  assert.equal(status(ask(orgWide, 'POST', '/api/v2/query?org=o')), 403)
})

test('edges the mutation run found untested: a write without db from a read lease, a v3 query body without a content type, encodings, empty bodies', () => {
  // A read lease may not write even where the request names no database (the server would say why, but it is never asked).
  const refused = ask(reader, 'POST', '/write')
  assert.equal(status(refused), 403)
  assert.match(refused.kind === 'refuse' ? refused.message : '', /this lease may not write/)
  assert.equal(status(ask(writer, 'GET', '/query?db=site-7&q=SELECT%201')), 403, 'a write lease may not read')
  const v3: GatedLease = { backend: 'v3', permissions: [bucket('read', 'site-7')] }
  // InfluxDB 3 takes a query body as JSON even without a content type: it is judged as one.
  const bare = ask(v3, 'POST', '/api/v3/query_sql')
  assert.equal(bare.kind, 'body')
  if (bare.kind === 'body') {
    assert.equal(bare.check(Buffer.from('{"db":"other","q":"SELECT 1"}'))?.status, 403)
    assert.equal(bare.check(Buffer.from('{"db":"site-7","q":"SELECT 1"}')), undefined)
    assert.equal(bare.check(Buffer.from('')), undefined, 'an empty body names nothing')
    assert.equal(bare.check(Buffer.from('  \n')), undefined)
  }
  for (const encoding of ['identity', 'IDENTITY', ' Identity ', '']) {
    assert.equal(ask(v3, 'POST', '/api/v3/query_sql', ['Content-Type', 'application/json', 'Content-Encoding', encoding]).kind, 'body', JSON.stringify(encoding))
  }
  for (const encoding of ['gzip', ' gzip ', 'br', 'identity, gzip']) {
    assert.equal(status(ask(v3, 'POST', '/api/v3/query_sql', ['Content-Type', 'application/json', 'Content-Encoding', encoding])), 415, JSON.stringify(encoding))
  }
  // Where nothing in the body can matter, it is not held back to be judged.
  assert.equal(ask(v3, 'POST', '/api/v3/query_sql', ['Content-Type', 'text/plain']).kind, 'forward')
})
