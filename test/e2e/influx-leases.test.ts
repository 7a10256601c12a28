import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { EXIT_CODE } from '../../src/util/errors.js'
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:net'
import { once } from 'node:events'
import { promisify } from 'node:util'
import Influx from 'influx'
import { cli, ok } from '../support/cli.js'
import { logLineProblems } from '../support/log-lines.js'
import { freePort } from '../support/postgres.js'
import { startInflux, type InfluxServer } from '../support/influxdb.js'

// Real InfluxDB 1.6.7 with auth and a JWT shared secret; clients hold no credential at all.
const run = promisify(execFile)
const portico = cli('portico-leases-')
const SHARED_SECRET = 'jwt-shared-secret-for-the-lease-test'
const TTL = 10
let influx: InfluxServer
const ports: Record<string, number> = {}
const secrets: string[] = [SHARED_SECRET]

async function member(name: string, attributes: string[], config: string): Promise<void> {
  await ok(portico, 'identity', 'create', name)
  await ok(portico, 'enroll', await ok(portico, 'ticket', 'create', ...attributes.flatMap((a) => ['--attribute', a])), '--identity', name)
  const file = join(portico.home, `${name}.yaml`)
  writeFileSync(file, config)
  await ok(portico, 'node', 'create', name, '--identity', name, '--config', file)
  // Ready means enrolled and holding a credential: requests before that get a 503 to retry.
  for (let i = 0; i < 100; i++) {
    const show = JSON.parse(await ok(portico, 'node', 'show', name, '--output', 'json')) as { credential: { expiresAt: string | null } | null }
    if (show.credential?.expiresAt !== null && show.credential?.expiresAt !== undefined) return
    await new Promise((r) => setTimeout(r, 100))
  }
}

const users = async (): Promise<string[]> => {
  const r = await influx.query('SHOW USERS', { username: influx.admin.username, password: influx.admin.password })
  return ((JSON.parse(r.body) as { results: { series?: { values: string[][] }[] }[] }).results[0]?.series?.[0]?.values ?? []).map((v) => v[0] ?? '')
}
const leaseUsers = async (): Promise<string[]> => (await users()).filter((u) => u.startsWith('portico_lease_'))
const write = (port: number, db: string, line: string, extra = ''): Promise<Response> =>
  fetch(`http://127.0.0.1:${port}/write?db=${db}${extra}`, { method: 'POST', body: line })

before(async () => {
  influx = await startInflux({ sharedSecret: SHARED_SECRET })
  secrets.push(influx.admin.password)
  for (const db of ['dev1', 'dev2']) await influx.query(`CREATE DATABASE ${db}`, { username: influx.admin.username, password: influx.admin.password })
  for (const k of ['dev1', 'dev2', 'plain', 'ghost']) ports[k] = await freePort()
  await ok(portico, 'identity', 'create', 'admin')
  await ok(portico, 'authority', 'create', '--tcp-listener-address', '127.0.0.1:0')
  const permissions = JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }, { action: 'read', resource: { type: 'buckets', name: '{subject.bucket}' } }])
  await ok(portico, 'identity', 'create', 'outlet')
  await ok(portico, 'enroll', await ok(portico, 'ticket', 'create', '--attribute', 'influxdb-outlet=true', '--relay', 'influxdb'), '--identity', 'outlet')
  writeFileSync(join(portico.home, 'outlet.json'), JSON.stringify({
    relay: 'influxdb',
    'influxdb-outlet': [{
      to: influx.address, api: 'auto', allow: 'influxdb-inlet', 'admin-allow': 'lease-admin', 'admin-username': '$INFLUX_ADMIN', 'admin-password': '$INFLUX_PASSWORD',
      'shared-secret': SHARED_SECRET, 'leased-token-expires-in': String(TTL), 'leased-token-permissions': permissions
    }, {
      // For people: analysts get a week of read access to dev1, and nothing else.
      from: 'analysts', to: influx.address, api: 'v1', allow: 'analyst', 'admin-username': '$INFLUX_ADMIN', 'admin-password': '$INFLUX_PASSWORD',
      'shared-secret': SHARED_SECRET, 'leased-token-expires-in': '7d', 'leased-token-permissions': [{ action: 'read', resource: { type: 'buckets', name: 'dev1' } }]
    }]
  }))
  portico.env.INFLUX_ADMIN = influx.admin.username
  portico.env.INFLUX_PASSWORD = influx.admin.password
  await ok(portico, 'node', 'create', 'outlet', '--identity', 'outlet', '--config', join(portico.home, 'outlet.json'))
  delete portico.env.INFLUX_PASSWORD
  await member('dev1', ['influxdb-inlet=true', 'bucket=dev1'], `influxdb-inlet: {from: ${ports.dev1}, via: influxdb, allow: influxdb-outlet}\n`)
  await member('dev2', ['influxdb-inlet=true', 'bucket=dev2'], `influxdb-inlet: {from: ${ports.dev2}, via: influxdb, allow: influxdb-outlet}\n`)
})

after(async () => {
  for (const n of ['dev1', 'dev2', 'plain', 'ghost', 'outlet', 'authority']) await portico('node', 'delete', n)
  await influx.stop()
})

test('each device writes with no credential of its own, through its own unique lease, only to its own bucket', async () => {
  const r1 = await write(ports.dev1 ?? 0, 'dev1', 'cpu,host=dev1 value=1')
  assert.equal(r1.status, 204, await r1.text())
  // A client-supplied credential is removed, whatever it claims.
  const r2 = await write(ports.dev2 ?? 0, 'dev2', 'cpu,host=dev2 value=2', '&u=admin&p=wrong')
  assert.equal(r2.status, 204, await r2.text())
  const cross = await write(ports.dev1 ?? 0, 'dev2', 'cpu,host=dev1 value=3')
  assert.equal(cross.status, 403)
  // One lease user per device at least; with 10 s leases an inlet renews its lease (with no client
  // asking) at 2/3 of its life, so a renewed one and its predecessor may both still be there.
  assert.ok((await leaseUsers()).length >= 2)

  await run('influx', ['-host', '127.0.0.1', '-port', String(ports.dev1), '-database', 'dev1', '-execute', 'INSERT mem,host=dev1 used=42'], { timeout: 30_000 })
  const out = await run('influx', ['-host', '127.0.0.1', '-port', String(ports.dev1), '-database', 'dev1', '-format', 'json', '-execute', 'SELECT used FROM mem'], { timeout: 30_000 })
  assert.match(out.stdout, /42/)
  const client = new Influx.InfluxDB({ host: '127.0.0.1', port: ports.dev2 ?? 0, database: 'dev2' })
  await client.writePoints([{ measurement: 'temp', fields: { c: 19.5 } }])
  assert.equal((await client.query<{ c: number }>('SELECT c FROM temp'))[0]?.c, 19.5)
  const py = await run('/usr/bin/python3', ['-c', [
    'from influxdb import InfluxDBClient',
    `c = InfluxDBClient(host="127.0.0.1", port=${ports.dev1}, database="dev1")`,
    'c.write_points([{"measurement": "py", "fields": {"v": 7}}])',
    'print(list(c.query("SELECT v FROM py").get_points()))'].join('\n')], { timeout: 30_000 })
  assert.match(py.stdout, /'v': 7/)
})

test('leases rotate before expiry, and an expired lease token is refused by InfluxDB itself', async () => {
  const lease = JSON.parse(await ok(portico, 'lease', 'create', '--via', 'influxdb', '--identity', 'dev1', '--output', 'json')) as { id: string; token: string; expiresAt: string }
  secrets.push(lease.token)
  const direct = (): Promise<Response> => fetch(`${influx.url}/write?db=dev1`, { method: 'POST', body: 'direct v=1', headers: { authorization: `Bearer ${lease.token}` } })
  assert.equal((await direct()).status, 204)
  const listed = JSON.parse(await ok(portico, 'lease', 'list', '--via', 'influxdb', '--identity', 'dev1', '--output', 'json')) as { id: string }[]
  assert.ok(listed.some((l) => l.id === lease.id))
  const before = JSON.parse(await ok(portico, 'node', 'show', 'dev1', '--output', 'json')) as { influxdbInlets: { leases: { id: string }[]; retriedAfter401: number }[] }
  const leaseBefore = before.influxdbInlets[0]?.leases[0]?.id
  const retriedBefore = before.influxdbInlets[0]?.retriedAfter401
  // Keep writing through the inlet across two lease lives: every request succeeds.
  const until = Date.now() + (TTL + 3) * 1000
  while (Date.now() < until) {
    const r = await write(ports.dev1 ?? 0, 'dev1', 'steady v=1')
    assert.equal(r.status, 204, await r.text())
    await new Promise((r) => setTimeout(r, 300))
  }
  assert.equal((await direct()).status, 401)
  const show = JSON.parse(await ok(portico, 'node', 'show', 'dev1', '--output', 'json')) as { influxdbInlets: { leases: { id: string }[]; requests: number; retriedAfter401: number }[] }
  const inlet = show.influxdbInlets[0]
  assert.notEqual(inlet?.leases[0]?.id, undefined)
  assert.notEqual(inlet?.leases[0]?.id, leaseBefore, 'the inlet still holds the lease it had two lease lives ago')
  // Renewed before expiry, not after a refusal: no request was answered 401 and sent again.
  assert.equal(inlet?.retriedAfter401, retriedBefore)
})

test('an analyst gets a read-only token valid for 7 days, uses it directly, shows it and revokes it', async () => {
  await ok(portico, 'identity', 'create', 'analyst')
  await ok(portico, 'enroll', await ok(portico, 'ticket', 'create', '--attribute', 'analyst=true'), '--identity', 'analyst')
  const at = ['--via', 'influxdb', '--outlet', 'analysts']
  const lease = JSON.parse(await ok(portico, 'lease', 'create', ...at, '--identity', 'analyst', '--output', 'json')) as { id: string; token: string; expiresAt: string }
  secrets.push(lease.token)
  const days = (Date.parse(lease.expiresAt) - Date.now()) / 86_400_000
  assert.ok(days > 6.99 && days <= 7, `the lease runs for ${days} days`)
  const bearer = { authorization: `Bearer ${lease.token}` }
  const query = (db: string): Promise<Response> => fetch(`${influx.url}/query?db=${db}&q=${encodeURIComponent('SELECT count(*) FROM cpu')}`, { headers: bearer })
  const read = await query('dev1')
  assert.equal(read.status, 200)
  assert.match(await read.text(), /"columns":\["time","count_value"\],"values":\[\["[^"]+",1\]\]/, 'the analyst does not see the point dev1 wrote')
  assert.equal((await fetch(`${influx.url}/write?db=dev1`, { method: 'POST', body: 'x v=1', headers: bearer })).status, 403, 'a read-only lease wrote')
  assert.match(await (await query('dev2')).text(), /not authorized/)

  const shown = JSON.parse(await ok(portico, 'lease', 'show', lease.id, ...at, '--identity', 'analyst', '--output', 'json')) as { id: string; expiresAt: string; permissions: unknown }
  assert.equal(shown.id, lease.id)
  assert.deepEqual(shown.permissions, [{ action: 'read', resource: { type: 'buckets', name: 'dev1' } }])
  assert.ok(!JSON.stringify(shown).includes(lease.token), 'show printed the secret')
  // A device may not get an analyst's lease, nor see or revoke one.
  const refused = await portico('lease', 'create', ...at, '--identity', 'dev1')
  assert.notEqual(refused.code, 0)
  assert.match(refused.stderr, /lease refused: policy analyst denies/)
  assert.notEqual((await portico('lease', 'revoke', lease.id, '--via', 'influxdb', '--identity', 'dev1')).code, 0)
  assert.equal((await query('dev1')).status, 200)

  await ok(portico, 'lease', 'revoke', lease.id, ...at, '--identity', 'analyst')
  assert.equal((await query('dev1')).status, 401, 'a revoked lease still reads')
  const listed = JSON.parse(await ok(portico, 'lease', 'list', ...at, '--identity', 'analyst', '--output', 'json')) as { id: string }[]
  assert.ok(!listed.some((l) => l.id === lease.id))
})

test('an identity without the attribute gets no lease and a clear error', async () => {
  await member('plain', ['bucket=dev1'], `influxdb-inlet: {from: ${ports.plain}, via: influxdb}\n`)
  const r = await write(ports.plain ?? 0, 'dev1', 'x v=1')
  assert.equal(r.status, 403, 'a refusal is not an outage: a client told to retry would retry for ever')
  assert.equal(r.headers.get('retry-after'), null)
  assert.match(await r.text(), /lease refused: policy influxdb-inlet denies/)
})

test('a lease admin (the outlet\'s admin-allow) lists every holder\'s leases and ends one identity\'s; nobody else may', async () => {
  const dev1 = (JSON.parse(await ok(portico, 'node', 'show', 'dev1', '--output', 'json')) as { identifier: string }).identifier
  const dev2 = (JSON.parse(await ok(portico, 'node', 'show', 'dev2', '--output', 'json')) as { identifier: string }).identifier
  const refused = await portico('lease', 'list', '--all', '--via', 'influxdb', '--identity', 'dev1')
  assert.equal(refused.code, EXIT_CODE.refused)
  assert.match(refused.stderr, /is not a lease admin of this outlet/)
  assert.equal((await portico('lease', 'revoke', '--holder', dev1, '--via', 'influxdb', '--identity', 'dev1')).code, EXIT_CODE.refused)
  await ok(portico, 'identity', 'create', 'leaseadmin')
  await ok(portico, 'enroll', await ok(portico, 'ticket', 'create', '--attribute', 'lease-admin=true'), '--identity', 'leaseadmin')
  // Both devices hold a live lease (these are 10 s leases: written just now, so not expired).
  assert.equal((await write(ports.dev1 ?? 0, 'dev1', 'admin v=1')).status, 204)
  assert.equal((await write(ports.dev2 ?? 0, 'dev2', 'admin v=1')).status, 204)
  const all = JSON.parse(await ok(portico, 'lease', 'list', '--all', '--via', 'influxdb', '--identity', 'leaseadmin', '--output', 'json')) as { identifier: string }[]
  assert.ok(all.some((l) => l.identifier === dev1) && all.some((l) => l.identifier === dev2), `not every holder is listed: ${JSON.stringify(all.map((l) => l.identifier))}`)
  const r = JSON.parse(await ok(portico, 'lease', 'revoke', '--holder', dev1, '--via', 'influxdb', '--identity', 'leaseadmin', '--output', 'json')) as { revoked: number }
  assert.ok(r.revoked >= 1)
  // The device gets a new lease by itself; its writes go on.
  let status = 0
  for (let i = 0; i < 40 && status !== 204; i++) {
    status = (await write(ports.dev1 ?? 0, 'dev1', 'after-admin v=1')).status
    if (status !== 204) await new Promise((resolve) => setTimeout(resolve, 250))
  }
  assert.equal(status, 204)
  const revokedByAdmin = (): boolean => /"reason":"revoked by a lease admin"[^\n]*"msg":"lease revoked"/.test(readFileSync(join(portico.home, 'nodes', 'outlet', 'node.log'), 'utf8'))
  for (let i = 0; i < 60 && !revokedByAdmin(); i++) await new Promise((resolve) => setTimeout(resolve, 250))
  assert.ok(revokedByAdmin(), 'the outlet did not revoke the lease')
  assert.equal((await portico('lease', 'revoke', 'ab'.repeat(12), '--holder', dev1, '--via', 'influxdb', '--identity', 'leaseadmin')).code, EXIT_CODE['bad-input'])
})

test('lease commands say plainly what is wrong: no such lease, no such relay', async (t) => {
  const show = await portico('lease', 'show', 'nonexistent', '--via', 'influxdb', '--identity', 'dev1')
  assert.match(show.stderr, /no such lease/)
  assert.equal(show.code, EXIT_CODE['bad-input'])
  const unknown = await portico('lease', 'show', 'ab'.repeat(12), '--via', 'influxdb', '--identity', 'dev1')
  assert.match(unknown.stderr, /no such lease/)
  assert.equal(unknown.code, EXIT_CODE['not-found'])
  const started = Date.now()
  const relay = await portico('lease', 'list', '--via', 'nosuchrelay', '--identity', 'dev1')
  t.diagnostic(`an unknown relay was reported after ${Date.now() - started} ms`)
  assert.match(relay.stderr, /relay 'nosuchrelay'/)
  assert.doesNotMatch(relay.stderr, /timed out|Timeout/)
  assert.equal(relay.code, EXIT_CODE.unavailable)
  // A step that takes over a second says what it waits for, on standard error, unless --quiet.
  portico.env.PORTICO_PROGRESS = '1'
  // Every step, however quick it is this time: the line is what is under test, not the machine's speed.
  portico.env.PORTICO_PROGRESS_AFTER_MS = '0'
  try {
    const slow = await portico('lease', 'list', '--via', 'nosuchrelay', '--identity', 'dev1')
    assert.match(slow.stderr, /^… reaching the lease manager 'influxdb-outlet' through relay 'nosuchrelay'$/m)
    assert.equal(slow.stdout, '')
    const quiet = await portico('lease', 'list', '--via', 'nosuchrelay', '--identity', 'dev1', '--quiet')
    assert.doesNotMatch(quiet.stderr, /^…/m)
    assert.match(quiet.stderr, /relay 'nosuchrelay'/)
  } finally {
    delete portico.env.PORTICO_PROGRESS
    delete portico.env.PORTICO_PROGRESS_AFTER_MS
  }
})

test('a lease for a database that does not exist is a 404 with InfluxDB\'s reason', async () => {
  await member('ghost', ['bucket=nosuchdb', 'influxdb-inlet=true'], `influxdb-inlet: {from: ${ports.ghost}, via: influxdb}\n`)
  const r = await write(ports.ghost ?? 0, 'nosuchdb', 'x v=1')
  assert.equal(r.status, 404)
  assert.match(await r.text(), /database not found/)
})

test('malformed HTTP gets a 400 and a closed connection; nothing is forwarded', async () => {
  const issued = (): number => (readFileSync(join(portico.home, 'nodes', 'outlet', 'node.log'), 'utf8').match(/"msg":"lease issued"/g) ?? []).length
  const before = issued()
  const s = connect({ host: '127.0.0.1', port: ports.dev1 ?? 0 })
  await once(s, 'connect')
  let answer = ''
  s.on('data', (c: Buffer) => { answer += c.toString() })
  s.write('GARBAGE / HTTP/9.9\r\n\x00\x01\r\n\r\n')
  await once(s, 'close')
  assert.match(answer, /^HTTP\/1.1 400 Bad Request/)
  // No lease was asked for because of it (a renewal of a 10 s lease may fall in this moment: at most one).
  assert.ok(issued() - before <= 1)
})

test('deleting a member revokes its leases within 15 s, long before they would expire', async () => {
  // A person's lease lives a week: only the deletion can end it within 15 s. (A device's 10 s
  // leases in this file could end by expiry first, which would prove nothing.)
  await ok(portico, 'identity', 'create', 'leaver')
  await ok(portico, 'enroll', await ok(portico, 'ticket', 'create', '--attribute', 'analyst=true'), '--identity', 'leaver')
  const lease = JSON.parse(await ok(portico, 'lease', 'create', '--via', 'influxdb', '--outlet', 'analysts', '--identity', 'leaver', '--output', 'json')) as { id: string; token: string }
  secrets.push(lease.token)
  const user = `portico_lease_${lease.id}`
  assert.ok((await leaseUsers()).includes(user))
  const id = (await ok(portico, 'identity', 'show', 'leaver')).trim()
  assert.match(id, /^I[0-9a-f]{64}$/)
  await ok(portico, 'member', 'delete', id)
  const started = Date.now()
  while ((await leaseUsers()).includes(user) && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 250))
  const log = readFileSync(join(portico.home, 'nodes', 'outlet', 'node.log'), 'utf8')
  assert.ok(!(await leaseUsers()).includes(user), `the deleted member's week-long lease user is still there after 15 s (${log.split('\n').filter((l) => l.includes(id)).slice(-4).join(' | ').slice(0, 1500)})`)
  // Not its expiry (a week away): the outlet revoked it because the member was deleted, and says so.
  assert.match(log, new RegExp(`"identifier":"${id}","leases":1,"msg":"identity revoked: revoking its leases"`))
  assert.match(log, new RegExp(`"lease":"${lease.id}","identifier":"${id}","reason":"member deleted"[^\\n]*"msg":"lease revoked"`))

  // A device deleted while it writes: its inlet is refused from then on.
  const dev2 = (JSON.parse(await ok(portico, 'node', 'show', 'dev2', '--output', 'json')) as { identifier: string }).identifier
  assert.equal((await write(ports.dev2 ?? 0, 'dev2', 'last v=1')).status, 204)
  await ok(portico, 'member', 'delete', dev2)
  // Within 15 s the device is told it was revoked, and is not told to come back: a 403, not a 503 to retry.
  let r = await write(ports.dev2 ?? 0, 'dev2', 'after v=1')
  for (let i = 0; i < 60 && r.status !== 403; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    r = await write(ports.dev2 ?? 0, 'dev2', 'after v=1')
  }
  assert.equal(r.status, 403)
  assert.equal(r.headers.get('retry-after'), null)
  assert.match(await r.text(), /refused this node: .*has been revoked/)
})

test('portals and relays are listed, shown and deleted at a running node; a deleted influxdb outlet revokes its leases', async () => {
  const inlets = JSON.parse(await ok(portico, 'influxdb-inlet', 'list', '--at', 'dev1', '--output', 'json')) as { from: string; route: string }[]
  assert.deepEqual(inlets.map((i) => i.from), [`127.0.0.1:${ports.dev1 ?? 0}`])
  assert.match(await ok(portico, 'influxdb-inlet', 'show', `127.0.0.1:${ports.dev1 ?? 0}`, '--at', 'dev1'), /^route: \/project\/.*\/service\/influxdb-outlet$/m)
  assert.equal((await portico('influxdb-inlet', 'show', '127.0.0.1:1', '--at', 'dev1')).code, EXIT_CODE['not-found'])
  const relays = JSON.parse(await ok(portico, 'relay', 'list', '--node', 'outlet', '--output', 'json')) as { name: string; registered: boolean }[]
  assert.deepEqual(relays.map((r) => [r.name, r.registered]), [['influxdb', true]])
  assert.deepEqual((JSON.parse(await ok(portico, 'influxdb-outlet', 'list', '--at', 'outlet', '--output', 'json')) as { name: string }[]).map((o) => o.name).sort(), ['analysts', 'influxdb-outlet'])
  const part = await portico('tcp-outlet', 'delete', 'analysts', '--at', 'outlet')
  assert.match(part.stderr, /belongs to influxdb outlet 'analysts'/)

  // An analyst's lease, then its outlet deleted: no new lease, and the live one is revoked.
  const at = ['--via', 'influxdb', '--outlet', 'analysts', '--identity', 'analyst']
  const lease = JSON.parse(await ok(portico, 'lease', 'create', ...at, '--output', 'json')) as { token: string }
  secrets.push(lease.token)
  const query = (): Promise<Response> => fetch(`${influx.url}/query?db=dev1&q=${encodeURIComponent('SHOW MEASUREMENTS')}`, { headers: { authorization: `Bearer ${lease.token}` } })
  assert.equal((await query()).status, 200)
  assert.match(await ok(portico, 'influxdb-outlet', 'delete', 'analysts', '--at', 'outlet'), /influxdb-outlet analysts deleted/)
  assert.notEqual((await portico('lease', 'create', ...at)).code, 0)
  let status = 200
  for (let i = 0; i < 60 && status === 200; i++) {
    await new Promise((r) => setTimeout(r, 250))
    status = (await query()).status
  }
  assert.equal(status, 401, 'the deleted outlet\'s lease still reads')
  assert.match(readFileSync(join(portico.home, 'nodes', 'outlet', 'node.log'), 'utf8'), /"reason":"outlet deleted"[^\n]*"msg":"lease revoked"/)

  // A deleted inlet stops listening at once; the other devices are unaffected.
  await ok(portico, 'influxdb-inlet', 'delete', `127.0.0.1:${ports.dev1 ?? 0}`, '--at', 'dev1')
  const refused = await new Promise<string>((resolve) => {
    const s = connect({ host: '127.0.0.1', port: ports.dev1 ?? 0 })
    s.once('connect', () => { s.destroy(); resolve('connected') })
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
  })
  assert.equal(refused, 'ECONNREFUSED')
  assert.deepEqual(JSON.parse(await ok(portico, 'influxdb-inlet', 'list', '--at', 'dev1', '--output', 'json')), [])
  assert.equal((await write(ports.ghost ?? 0, 'nosuchdb', 'x v=1')).status, 404, 'another device is still served')

  // A deleted relay is given up at the project node at once, not when the channel closes.
  await ok(portico, 'relay', 'delete', 'influxdb', '--node', 'outlet')
  assert.deepEqual(JSON.parse(await ok(portico, 'relay', 'list', '--node', 'outlet', '--output', 'json')), [])
  assert.match(readFileSync(join(portico.home, 'nodes', 'authority', 'node.log'), 'utf8'), /"relay":"influxdb"[^\n]*"msg":"relay removed by its holder"/)
})

test('no token, password or shared secret appears in any log', () => {
  for (const node of readdirSync(join(portico.home, 'nodes'))) {
    const log = readFileSync(join(portico.home, 'nodes', node, 'node.log'), 'utf8')
    for (const s of secrets) assert.ok(!log.includes(s), `a secret appeared in ${node}'s log`)
    assert.doesNotMatch(log, /Bearer ey|Token [A-Za-z0-9_-]{20}|Basic [A-Za-z0-9+/=]{16}/)
    // Clean JSON lines a log shipper can take: no plain text, no key written twice.
    assert.deepEqual(logLineProblems(log), [], `${node}'s log`)
    // A start in order warns of nothing: no relay refused for want of a credential not yet held.
    assert.doesNotMatch(log, /may not register relay/, `${node}'s log`)
  }
})
