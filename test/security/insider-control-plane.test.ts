import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { cli, ok, type Cli } from '../support/cli.js'
import { startInflux, type InfluxServer } from '../support/influxdb.js'
import { freePort } from '../support/postgres.js'
import { nodeLog, SHARED_SECRET, startDeployment, type Deployment } from '../support/insider-deployment.js'

// The control plane under attack from inside the project: an enroller reaching for the database
// relay, an admin's mistakes (a wrong password, a shared secret InfluxDB does not have), secrets
// where `ps` shows them, commands racing in one home. Real processes, a real InfluxDB 1.6.7.

let d: Deployment
let plain: InfluxServer
const homes: Cli[] = []
const bucketPermissions = [{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]

before(async () => {
  // A database without the shared secret, behind an outlet configured with one.
  plain = await startInflux()
  d = await startDeployment('portico-insider-control-', [
    { from: 'no-secret-db', to: plain.address, api: 'v1', allow: 'influxdb-inlet', 'admin-username': plain.admin.username, 'admin-password': plain.admin.password,
      'shared-secret': SHARED_SECRET, 'leased-token-permissions': bucketPermissions },
    { from: 'wrong-admin', to: plain.address, api: 'v1', allow: 'influxdb-inlet', 'admin-username': plain.admin.username, 'admin-password': 'not-the-password',
      'leased-token-permissions': bucketPermissions }
  ])
  homes.push(d.admin, d.devices['device-1'].portico, d.devices['device-2'].portico)
})
after(async () => {
  for (const h of homes.slice(3)) for (const n of readdirSync(join(h.home, 'nodes'))) await h('node', 'delete', n)
  await d.stop()
  await plain.stop()
})

async function newcomer(name: string, ticket: string): Promise<Cli> {
  const c = cli(`portico-insider-${name}-`)
  homes.push(c)
  await ok(c, 'project', 'import', join(d.admin.home, 'project.json'))
  await ok(c, 'enroll', ticket)
  return c
}

test('an enroller cannot mint the outlet\'s attributes or a relay for itself; a scoped one grants only its scope', async () => {
  const enroller = await newcomer('enroller', await ok(d.admin, 'ticket', 'create', '--enroller'))
  const grab = await enroller('ticket', 'create', '--attribute', 'influxdb-outlet=true', '--relay', 'influxdb')
  assert.notEqual(grab.code, 0)
  assert.match(grab.stderr, /may not grant (influxdb-outlet=true, relay=influxdb|relay=influxdb, influxdb-outlet=true)/)
  assert.equal((await enroller('ticket', 'create', '--attribute', 'influxdb-inlet=true', '--attribute', 'bucket=device-9')).code, 0)
  const scoped = await newcomer('scoped', await ok(d.admin, 'ticket', 'create', '--enroller', '--may-grant', 'influxdb-inlet=true', '--may-grant', 'bucket=site-*'))
  assert.equal((await scoped('ticket', 'create', '--attribute', 'influxdb-inlet=true', '--attribute', 'bucket=site-4')).code, 0)
  assert.match((await scoped('ticket', 'create', '--attribute', 'bucket=device-1')).stderr, /may not grant bucket=device-1/)
  assert.notEqual((await enroller('member', 'list')).code, 0, 'an enroller lists no members')
})

test('a relay name held by the live outlet is refused to another identity; the devices keep writing to the real database', async () => {
  const rogue = await newcomer('rogue', await ok(d.admin, 'ticket', 'create', '--relay', 'influxdb', '--attribute', 'influxdb-outlet=true'))
  await ok(rogue, 'node', 'create', 'rogue', '--configuration', 'relay: influxdb')
  let relays: { registered: boolean; lastError: string | null }[] = []
  for (let i = 0; i < 100 && !/another identity/.test(String(relays[0]?.lastError)); i++) {
    relays = (JSON.parse(await ok(rogue, 'node', 'show', 'rogue', '--output', 'json')) as { relays: typeof relays }).relays
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.equal(relays[0]?.registered, false)
  assert.match(String(relays[0]?.lastError), /registered by another identity/)
  assert.match(nodeLog(d.admin, 'authority'), /relay registration refused: the name is held by another identity/)
  const r = await fetch(`http://127.0.0.1:${d.devices['device-2'].port}/write?db=device-2`, { method: 'POST', body: 'after_rogue v=1' })
  assert.equal(r.status, 204)
  assert.match(await d.adminQuery('SELECT count(v) FROM after_rogue', 'device-2'), /"count"/)
})

test('an outlet proves its database credentials before it is ready, and names why not; a refused lease is never issued again and again', async () => {
  const ready = await fetch(`http://127.0.0.1:${d.outletHttp}/readyz`)
  assert.equal(ready.status, 503)
  const reasons = ((await ready.json()) as { reasons: string[] }).reasons.join('\n')
  assert.match(reasons, /no-secret-db: InfluxDB refused a token signed with the outlet's shared-secret/)
  assert.match(reasons, /wrong-admin: InfluxDB refused the outlet's admin credentials/)
  // The outlet without shared-secret is told at start what that costs, naming the setting; the other is not.
  const warnings = nodeLog(d.admin, 'outlet').split('\n').filter((l) => l.includes('without shared-secret'))
  assert.equal(warnings.length, 1)
  assert.match(warnings[0] ?? '', /"outlet":"wrong-admin".*"setting":"shared-secret"/)
  for (const s of d.secrets) assert.ok(!reasons.includes(s), 'a secret in /readyz')
  const port = await freePort()
  const device = await newcomer('device-3', await ok(d.admin, 'ticket', 'create', '--attribute', 'influxdb-inlet=true', '--attribute', 'bucket=device-3'))
  await ok(device, 'node', 'create', 'device-3', '--configuration', `influxdb-inlet: {from: ${port}, via: influxdb, outlet: no-secret-db, allow: influxdb-outlet}`)
  for (let i = 0; i < 7; i++) {
    const w = await fetch(`http://127.0.0.1:${port}/write?db=device-3`, { method: 'POST', body: 'storm v=1' }).catch(() => undefined)
    assert.notEqual(w?.status, 204)
    await new Promise((r) => setTimeout(r, 300))
  }
  const users = (await plain.query('SHOW USERS', { username: plain.admin.username, password: plain.admin.password })).body
  assert.doesNotMatch(users, /portico_lease_/, 'leases were issued by an outlet the database refuses')
})

test('no secret on any command line, in any log, or in a file others may read', () => {
  for (const h of homes) {
    for (const name of readdirSync(join(h.home, 'nodes'))) {
      const record = JSON.parse(readFileSync(join(h.home, 'nodes', name, 'node.json'), 'utf8')) as { pid: number }
      const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      assert.match(cmdline, /node create|authority create/)
      for (const s of d.secrets) assert.ok(!cmdline.includes(s), `a secret on the command line of ${name}: ${cmdline}`)
      assert.doesNotMatch(cmdline, /admin-password|shared-secret|--enrollment-ticket/)
      const log = nodeLog(h, name)
      for (const s of d.secrets) assert.ok(!log.includes(s), `a secret in the log of ${name}`)
    }
    assert.equal(statSync(h.home).mode & 0o077, 0, `${h.home} is open to others`)
    assert.equal(statSync(join(h.home, 'vault.json')).mode & 0o077, 0)
  }
})

test('six identities created at once in one home all keep their keys', async () => {
  const c = cli('portico-insider-race-')
  const names = ['a', 'b', 'c', 'e', 'f', 'g']
  const results = await Promise.all(names.map((n) => c('identity', 'create', n)))
  assert.deepEqual(results.map((r) => r.code), names.map(() => 0))
  const vault = JSON.parse(readFileSync(join(c.home, 'vault.json'), 'utf8')) as Record<string, unknown>
  for (const n of names) {
    const shown = JSON.parse(await ok(c, 'identity', 'show', n, '--output', 'json')) as { changes: { primaryPublicKey: string }[] }
    assert.ok(Object.keys(vault).includes(shown.changes.at(-1)?.primaryPublicKey ?? ''), `the vault lost the key of ${n}`)
  }
})

test('deleting a member revokes its lease, and the outlet says why', async () => {
  await ok(d.admin, 'member', 'delete', d.devices['device-2'].identifier)
  let log = ''
  for (let i = 0; i < 150 && !/member deleted/.test(log); i++) {
    await new Promise((r) => setTimeout(r, 100))
    log = nodeLog(d.admin, 'outlet')
  }
  assert.match(log, /"reason":"member deleted"[^\n]*lease revoked|lease revoked[^\n]*"reason":"member deleted"/)
})
