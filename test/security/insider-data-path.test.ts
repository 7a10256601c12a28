import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { once } from 'node:events'
import { startDeployment, type Deployment } from '../support/insider-deployment.js'
import { ok } from '../support/cli.js'

// The data path under attack by a device of the fleet: everything goes through its own inlet,
// against a real InfluxDB 1.6.7, and nothing it is not allowed reaches the database.

let d: Deployment
let port = 0
const query = (q: string, db = 'device-1'): Promise<Response> => fetch(`http://127.0.0.1:${port}/query?db=${encodeURIComponent(db)}&q=${encodeURIComponent(q)}`)
const cqs = async (): Promise<string> => d.adminQuery('SHOW CONTINUOUS QUERIES')

before(async () => {
  d = await startDeployment('portico-insider-data-')
  port = d.devices['device-1'].port
})
after(async () => { await d.stop() })

test('the continuous query that copied the secret database is refused, never reaches InfluxDB, and the data stays unread', async () => {
  const cq = 'CREATE CONTINUOUS QUERY cq1 ON "device-1" BEGIN SELECT max(salary) INTO "device-1"."autogen"."stolen" FROM "secret"."autogen"."payroll" GROUP BY time(1s) END'
  const r = await query(cq)
  assert.equal(r.status, 403)
  assert.match(await r.text(), /CREATE CONTINUOUS QUERY is not allowed/)
  assert.doesNotMatch(await cqs(), /cq1/)
  // The same, posted as a form, in lower case, behind a harmless statement and a comment.
  const form = new URLSearchParams({ db: 'device-1', q: `select * from m; -- note\n${cq.toLowerCase()}` })
  const p = await fetch(`http://127.0.0.1:${port}/query`, { method: 'POST', body: form })
  assert.equal(p.status, 403)
  assert.doesNotMatch(await cqs(), /cq1/)
  for (const q of ['SELECT * INTO "device-1"."autogen"."copy" FROM "secret"."autogen"."payroll"', 'SELECT * FROM "secret"."autogen"."payroll"',
    'SELECT * FROM secret..payroll', 'SELECT * FROM (SELECT * FROM secret..payroll)', 'SHOW MEASUREMENTS ON secret', 'SHOW USERS', 'SHOW QUERIES',
    'DROP DATABASE "device-1"', 'DELETE FROM boot', 'CREATE USER x WITH PASSWORD \'x\' WITH ALL PRIVILEGES', 'GRANT ALL TO x']) {
    assert.equal((await query(q)).status, 403, q)
  }
  assert.equal((await query('SELECT * FROM payroll', 'secret')).status, 403)
  assert.match(await d.adminQuery('SHOW DATABASES'), /device-1/)
  assert.doesNotMatch(await d.adminQuery('SHOW MEASUREMENTS', 'device-1'), /copy|stolen/)
})

test('a read lease still does its work: SELECT and schema SHOW on its own database', async () => {
  const sel = await query('SELECT count(v) FROM boot')
  assert.equal(sel.status, 200)
  assert.match(await sel.text(), /"count"/)
  assert.equal((await query('SHOW MEASUREMENTS')).status, 200)
  assert.equal((await query('SHOW TAG KEYS FROM boot')).status, 200)
  const dbs = await query('SHOW DATABASES')
  assert.equal(dbs.status, 200)
  // InfluxDB lists to a lease user only the databases it may read.
  assert.doesNotMatch(await dbs.text(), /secret|device-2/)
})

test('only the InfluxDB API is forwarded: /debug answers 403, targets are rewritten, HTTP/0.9 is refused', async () => {
  for (const path of ['/debug/vars', '/debug/pprof/', '/debug/pprof/cmdline', '/debug/requests']) {
    const r = await fetch(`http://127.0.0.1:${port}${path}`)
    assert.equal(r.status, 403, path)
    assert.doesNotMatch(await r.text(), /secret|influxdb\.conf/)
  }
  const raw = async (text: string): Promise<string> => {
    const s = connect({ host: '127.0.0.1', port })
    let out = ''
    s.on('data', (c: Buffer) => { out += c.toString('latin1') })
    s.on('error', () => undefined)
    s.end(text)
    await once(s, 'close')
    return out
  }
  assert.match(await raw('POST http://evil.example:9999/write?db=device-1 HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\nConnection: close\r\n\r\nabs v=1i\n'), /^HTTP\/1\.1 204 /)
  assert.match(await d.adminQuery('SELECT count(v) FROM abs', 'device-1'), /"count"/)
  assert.match(await raw('GET /t19\r\n\r\n'), /^HTTP\/1\.1 400 /)
  assert.match(await raw('POST /write?db=device-1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), /^HTTP\/1\.1 400 /)
})

/** One raw exchange with the inlet: the bytes it answers before it closes or 2 s pass. */
async function raw(text: string | Buffer): Promise<string> {
  const s = connect({ host: '127.0.0.1', port })
  let out = ''
  s.on('data', (c: Buffer) => { out += c.toString('latin1') })
  s.on('error', () => undefined)
  s.write(text)
  await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 2000))])
  s.destroy()
  return out
}

test('what held keeps holding: smuggling shapes, CONNECT, odd Expect, huge heads, upgrades and trailers', async () => {
  const write = 'POST /write?db=device-1 HTTP/1.1\r\nHost: x\r\n'
  for (const [request, status] of [
    [`${write}Content-Length: 5\r\nContent-Length: 6\r\n\r\nh v=1`, 400],
    [`${write}Transfer-Encoding: xchunked\r\n\r\n`, 400],
    [`${write}Content-Length : 5\r\n\r\nh v=1`, 400],
    [`${write}X-A: 1\r\n folded\r\nContent-Length: 5\r\n\r\nh v=1`, 400],
    ['post /write?db=device-1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nh v=1', 400],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400],
    ['CONNECT db:8086 HTTP/1.1\r\nHost: db:8086\r\n\r\n', 405],
    [`${write}Expect: 200-ok\r\nContent-Length: 5\r\n\r\nh v=1`, 417],
    [`GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`, 431]
  ] as const) {
    assert.match(await raw(request), new RegExp(`^HTTP/1\\.1 ${status} `), request.slice(0, 60))
  }
  // An upgrade request is served as plain HTTP; trailers of a chunked body never reach the database.
  assert.match(await raw('GET /ping HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n'), /^HTTP\/1\.1 204 /)
  assert.match(await raw(`${write}Transfer-Encoding: chunked\r\nTrailer: X-T\r\nConnection: close\r\n\r\n8\r\ntr v=1i\n\r\n0\r\nX-T: smuggled\r\n\r\n`), /^HTTP\/1\.1 204 /)
})

test('the inlet and the outlet listen on loopback only; /show and /metrics hold no secret', async () => {
  const show = JSON.parse(await ok(d.devices['device-1'].portico, 'node', 'show', 'device-1', '--output', 'json')) as { influxdbInlets: { from: string }[] }
  assert.match(show.influxdbInlets[0]?.from ?? '', /^127\.0\.0\.1:/)
  const status = await fetch(`http://127.0.0.1:${d.outletHttp}/show`).then((r) => r.text())
  const metrics = await fetch(`http://127.0.0.1:${d.outletHttp}/metrics`).then((r) => r.text())
  for (const secret of d.secrets) {
    assert.ok(!status.includes(secret), 'a secret in /show')
    assert.ok(!metrics.includes(secret), 'a secret in /metrics')
  }
})

test('a device cannot write elsewhere, and every client credential is stripped, in every form tried', async () => {
  assert.equal((await fetch(`http://127.0.0.1:${port}/write?db=device-2`, { method: 'POST', body: 'x v=1' })).status, 403)
  assert.equal((await fetch(`http://127.0.0.1:${port}/write?db=secret`, { method: 'POST', body: 'x v=1' })).status, 403)
  for (const extra of ['&u=admin&p=admin-password-for-tests', '&%75=admin&%70=wrong', '&x=1;u=admin']) {
    assert.equal((await fetch(`http://127.0.0.1:${port}/write?db=device-1${extra}`, { method: 'POST', body: 'cred v=1', headers: { authorization: 'Basic YWRtaW46d3Jvbmc=' } })).status, 204, extra)
  }
})

test('a slow-body flood from one address leaves a normal client served', async () => {
  const flood = await Promise.all(Array.from({ length: 150 }, async () => {
    const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' })
    s.on('error', () => undefined)
    await once(s, 'connect')
    s.write('POST /write?db=device-1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nm')
    return s
  }))
  const timer = setInterval(() => { for (const s of flood) s.write('x') }, 2000)
  try {
    for (let i = 0; i < 50; i++) assert.equal((await fetch(`http://127.0.0.1:${port}/write?db=device-1`, { method: 'POST', body: `normal v=${i}`, signal: AbortSignal.timeout(5000) })).status, 204)
  } finally {
    clearInterval(timer)
    for (const s of flood) s.destroy()
  }
})
