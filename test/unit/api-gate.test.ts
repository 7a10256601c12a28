import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gateRequest, originForm, type GatedLease, type Verdict } from '../../src/influxdb/gate/api-gate.js'
import { MAX_PARAMS } from '../../src/influxdb/gate/query-params.js'
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
  assert.deepEqual(json.check(Buffer.from(`{"db":"${'s'.repeat(100)}","q":"SELECT 1"}`)), { kind: 'refuse', status: 403, code: 'forbidden', message: `this lease may not read database '${'s'.repeat(64)}'` })
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
  assert.deepEqual(refused, { kind: 'refuse', status: 403, code: 'forbidden', message: 'this lease may not write (/write)' })
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

const refusal = (v: Verdict | undefined): string => v?.kind === 'refuse' ? `${v.status} ${v.code}: ${v.message}` : 'passed'

test('each refusal says what it is: the status, the code and the reason a client can act on', () => {
  assert.match(refusal(ask(writer, 'POST', '/write?db=%zz')), /^400 invalid: the request's parameters could not be read: a parameter is not valid percent-encoded UTF-8/)
  assert.match(refusal(ask(writer, 'POST', '/write?db=secret')), /^403 forbidden: this lease may not write db 'secret'/)
  assert.match(refusal(ask(reader, 'GET', '/query?db=site-7&q=SELECT%20(')), /^400 invalid: the query is not valid InfluxQL: unbalanced parentheses/)
  assert.match(refusal(ask(reader, 'GET', '/query?db=site-7&q=DROP%20DATABASE%20x')), /^403 forbidden: /)
  assert.match(refusal(ask(reader, 'GET', '/query?db=secret&q=SELECT%20*%20FROM%20m')), /^403 forbidden: this lease may not read database 'secret'/)
  assert.match(refusal(ask(writer, 'POST', '/debug/vars')), /^403 forbidden: \/debug\/vars is not part of the InfluxDB API this inlet forwards/)
  assert.match(refusal(ask(writer, 'PUT', '/write')), /^405 method not allowed: \/write takes POST/)
  assert.match(refusal(ask(writer, 'GET', '/ping', [], 0)), /^400 invalid: HTTP\/0\.9/)
  assert.match(refusal(ask(writer, 'OPTIONS', '*')), /^400 invalid: the request target must be a path/)
  assert.match(refusal(ask(reader, 'POST', '/query', ['Content-Type', 'multipart/form-data; boundary=x'])), /^415 unsupported media type: multipart/)
  assert.match(refusal(ask(reader, 'POST', '/query', ['Content-Type', 'application/x-www-form-urlencoded', 'Content-Encoding', 'gzip'])), /^415 unsupported media type: a query body must not be compressed/)
})

test('parameters: at most MAX_PARAMS of them, read at `;` too, a bare name naming the empty value', () => {
  const many = (n: number): string => `/write?db=site-7${'&x=1'.repeat(n - 1)}`
  assert.equal(status(ask(writer, 'POST', many(MAX_PARAMS))), 200)
  assert.match(refusal(ask(writer, 'POST', many(MAX_PARAMS + 1))), /^400 invalid: .*more than 256 parameters/)
  // Only a server that splits at `;` sees db=secret here; it is judged as that server reads it.
  assert.equal(status(ask(writer, 'POST', '/write?x=1;db=secret&db=site-7')), 403)
  // A bare `db` names the database '' (not one called "db"), which no lease holds.
  const dbNamedDb: GatedLease = { backend: 'v1', permissions: [bucket('write', 'db')] }
  assert.equal(status(ask(dbNamedDb, 'POST', '/write?db')), 403)
  assert.equal(status(ask(dbNamedDb, 'POST', '/write?db=db')), 200)
})

test('what a lease allows: buckets by name or by id, nothing from other resource types', () => {
  const byId: GatedLease = { backend: 'v2', permissions: [{ action: 'write', resource: { type: 'buckets', id: '0a1b', orgID: 'o1' } }] }
  assert.equal(status(ask(byId, 'POST', '/api/v2/write?org=o&bucket=0a1b')), 200)
  assert.equal(status(ask(byId, 'POST', '/api/v2/write?org=o&bucket=other')), 403, 'an id is not every bucket')
  const both: GatedLease = { backend: 'v2', permissions: [{ action: 'write', resource: { type: 'buckets', id: '0a1b', name: 'site-7' } }] }
  assert.equal(status(ask(both, 'POST', '/api/v2/write?org=o&bucket=site-7')), 200)
  assert.equal(status(ask(both, 'POST', '/api/v2/write?org=o&bucket=0a1b')), 200)
  assert.equal(status(ask(both, 'POST', '/api/v2/write?org=o&bucket=other')), 403)
  const orgsOnly: GatedLease = { backend: 'v2', permissions: [{ action: 'write', resource: { type: 'orgs' } }] }
  assert.equal(status(ask(orgsOnly, 'POST', '/api/v2/write?org=o&bucket=any')), 403, 'an org permission is no bucket permission')
})

test('bodies: held back only where the server reads parameters from them, and judged whole', () => {
  // Go reads a form body for POST, PUT and PATCH only: a GET's body is not held back.
  assert.equal(ask(reader, 'GET', '/query?db=site-7&q=SELECT%20*%20FROM%20m', ['Content-Type', 'application/x-www-form-urlencoded']).kind, 'forward')
  const v2: GatedLease = { backend: 'v2', permissions: [bucket('read', 'site-7')] }
  assert.equal(ask(v2, 'POST', '/api/v2/query?org=o', ['Content-Type', 'application/json']).kind, 'forward', 'Flux is judged by the server\'s own token')
  const form = ask(reader, 'POST', '/query?db=site-7', ['Content-Type', 'application/x-www-form-urlencoded'])
  if (form.kind !== 'body') return assert.fail('the form body is judged')
  assert.match(refusal(form.check(Buffer.from([...Buffer.from('db=site-7&x='), 0xff]))), /^400 invalid: /, 'a body that is not UTF-8 is refused, whatever it names')
  const v3: GatedLease = { backend: 'v3', permissions: [bucket('read', 'site-7')] }
  const influxql = ask(v3, 'POST', '/api/v3/query_influxql', ['Content-Type', 'application/json'])
  if (influxql.kind !== 'body') return assert.fail('the JSON body is judged')
  for (const notObject of ['[1]', 'null', '"x"', '5']) {
    assert.match(refusal(influxql.check(Buffer.from(notObject))), /^400 invalid: a query body must be a JSON object/, notObject)
  }
  assert.equal(influxql.check(Buffer.from('{"q":"SHOW MEASUREMENTS"}')), undefined, 'no db in the body: nothing to refuse')
  assert.equal(influxql.check(Buffer.from('{"db":"site-7"}')), undefined, 'no q: nothing to refuse')
  assert.match(refusal(influxql.check(Buffer.from('{"db":"site-7","q":5}'))), /^400 invalid: q must be a string/)
  assert.match(refusal(influxql.check(Buffer.from('{"db":5}'))), /^400 invalid: db must be a string/)
  // SQL is not InfluxQL: query_sql is judged by its database only (the server runs SQL read-only).
  const sql = ask(v3, 'POST', '/api/v3/query_sql', ['Content-Type', 'application/json'])
  if (sql.kind !== 'body') return assert.fail('the JSON body is judged')
  assert.equal(sql.check(Buffer.from('{"db":"site-7","q":"WITH t AS (SELECT 1) SELECT * FROM t"}')), undefined)
})

test('edges the run of 17:13 found: read endpoints without a database, targets that hold a URL, spaces in headers and names, long names', () => {
  // Asking a read endpoint without naming a database still needs a read lease.
  assert.match(refusal(ask(writer, 'GET', '/query?q=SHOW%20MEASUREMENTS')), /^403 forbidden: this lease may not read \(\/query\)/)
  const v3Writer: GatedLease = { backend: 'v3', permissions: [bucket('write', 'site-7')] }
  assert.equal(status(ask(v3Writer, 'GET', '/api/v3/query_sql?q=SELECT%201')), 403)
  assert.equal(status(ask(v3Writer, 'GET', '/api/v3/query_influxql?q=SHOW%20MEASUREMENTS')), 403)
  // Only a target that starts with a scheme is in absolute form; a URL further on is data.
  const v = ask(writer, 'POST', '/write?db=site-7&note=http://elsewhere/x')
  assert.equal(v.kind === 'forward' ? v.target : v.kind, '/write?db=site-7&note=http://elsewhere/x')
  // Media types and encodings are compared without the spaces around them.
  assert.equal(ask(reader, 'POST', '/query?db=site-7', ['Content-Type', 'application/x-www-form-urlencoded ; charset=utf-8']).kind, 'body')
  assert.equal(ask(reader, 'POST', '/query?db=site-7', ['Content-Type', 'application/x-www-form-urlencoded', 'Content-Encoding', '  ']).kind, 'body')
  // `+` is a space in a parameter, as the server reads it.
  const spaced: GatedLease = { backend: 'v1', permissions: [bucket('write', 'site 7')] }
  assert.equal(status(ask(spaced, 'POST', '/write?db=site+7')), 200)
  // What a refusal repeats of the request is cut short, and names every method an endpoint takes.
  const long = 'd'.repeat(200)
  assert.match(refusal(ask(writer, 'POST', `/write?db=${long}`)), new RegExp(`db '${'d'.repeat(64)}'$`))
  assert.match(refusal(ask(reader, 'GET', `/query?db=${long}&q=SELECT%20*%20FROM%20m`)), new RegExp(`database '${'d'.repeat(64)}'$`))
  assert.match(refusal(ask(writer, 'POST', `/${'p'.repeat(200)}`)), new RegExp(`^403 forbidden: /${'p'.repeat(99)} is not part`))
  assert.match(refusal(ask(reader, 'DELETE', '/query')), /takes GET or POST$/)
})
