import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { InfluxDB, Point } from '@influxdata/influxdb-client'
import { cli, ok, type Cli } from '../support/cli.js'
import { freePort } from '../support/postgres.js'
import { startV2Emulator, type V2Emulator } from '../support/influx-v2-emulator.js'
import { selfSignedCertificate } from '../support/tls.js'
import { tempDir } from '../support/temp-dir.js'
import { setTimeout as sleep } from 'node:timers/promises'

// The seed's JSON node configuration for InfluxDB Cloud and Timestream for InfluxDB, exactly as
// the issue gives it, with only its values substituted, run by real `portico` processes against
// the v2 emulator (every exchange checked against the official OpenAPI contract) speaking HTTPS
// only. Its certificate comes from a private CA that the nodes trust through NODE_EXTRA_CA_CERTS,
// the way an operator trusts one; a public CA (Cloud, Timestream) needs nothing at all.
const SEED = `{"http-server-port": 23345, "relay": "influxdb",
 "tcp-outlet": {"to": "INFLUX_ENDPOINT:8086", "from": "ui-outlet", "allow": "amazon-influxdb-inlet", "tls": true},
 "influxdb-outlet": {"to": "INFLUX_ENDPOINT:8086", "tls": true, "allow": "amazon-influxdb-inlet", "org-id": "INFLUX_ORG_ID",
   "all-access-token": "INFLUX_TOKEN", "leased-token-expires-in": "300", "leased-token-permissions": "LEASED_TOKEN_PERMISSIONS"}}`
// The outlet, not this test, puts the org id into the permissions.
const PERMISSIONS = JSON.stringify([
  { action: 'write', resource: { type: 'buckets', name: 'fleet', orgID: 'INFLUX_ORG_ID' } },
  { action: 'read', resource: { type: 'buckets', name: 'fleet', orgID: 'INFLUX_ORG_ID' } }
])

const cert = selfSignedCertificate(tempDir('portico-v2-tls-'))
let portico: Cli
let v2: V2Emulator
const ports: Record<'http' | 'influx' | 'ui', number> = { http: 0, influx: 0, ui: 0 }
const issuedTokens: string[] = []

/** A write straight to the database (HTTPS, its own CA), as a person holding a lease token would. */
function directWrite(token: string, line: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${v2.url}/api/v2/write?org=${v2.orgId}&bucket=fleet`, { method: 'POST', ca: cert.cert, headers: { authorization: `Token ${token}` } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(line)
  })
}

before(async () => {
  v2 = await startV2Emulator({ tls: cert, buckets: ['fleet'] })
  portico = cli('portico-seed-v2-', { NODE_EXTRA_CA_CERTS: cert.certFile })
  for (const k of ['http', 'influx', 'ui'] as const) ports[k] = await freePort()
  await ok(portico, 'identity', 'create', 'admin')
  await ok(portico, 'authority', 'create', '--tcp-listener-address', '127.0.0.1:0')
  const seed = SEED.replace('23345', String(ports.http)).replaceAll('INFLUX_ENDPOINT:8086', v2.address).replace('"INFLUX_ORG_ID"', JSON.stringify(v2.orgId))
    .replace('INFLUX_TOKEN', v2.allAccessToken).replace('"LEASED_TOKEN_PERMISSIONS"', JSON.stringify(PERMISSIONS))
  writeFileSync(join(portico.home, 'seed.json'), seed)
  await ok(portico, 'identity', 'create', 'outlet')
  await ok(portico, 'node', 'create', 'outlet', '--identity', 'outlet', '--config', join(portico.home, 'seed.json'),
    '--enrollment-ticket', await ok(portico, 'ticket', 'create', '--relay', 'influxdb'))
  writeFileSync(join(portico.home, 'device.yaml'), [
    'influxdb-inlet:', `  from: 127.0.0.1:${ports.influx}`, '  via: influxdb',
    'tcp-inlet:', `  from: 127.0.0.1:${ports.ui}`, '  via: influxdb', '  outlet: ui-outlet', ''
  ].join('\n'))
  await ok(portico, 'identity', 'create', 'device')
  await ok(portico, 'node', 'create', 'device', '--identity', 'device', '--config', join(portico.home, 'device.yaml'),
    '--enrollment-ticket', await ok(portico, 'ticket', 'create', '--attribute', 'amazon-influxdb-inlet=true'))
})

after(async () => {
  for (const n of ['device', 'outlet', 'authority']) await portico('node', 'delete', n)
  await v2.close()
  assert.deepEqual(v2.violations, [], 'an exchange broke the OpenAPI contract')
})

test('with the seed configuration as given, a device writes over TLS through its own lease, holding no token', async () => {
  const client = new InfluxDB({ url: `http://127.0.0.1:${ports.influx}` })
  // The relay registration and the device's credential settle in the background after start.
  for (let attempt = 0; ; attempt++) {
    const probe = client.getWriteApi(v2.orgId, 'fleet', 'ms', { maxRetries: 0 })
    probe.writePoint(new Point('probe').floatField('v', attempt))
    const failed = await probe.close().then(() => undefined, (err: unknown) => err)
    if (failed === undefined) break
    if (attempt === 100) throw new Error('no first write through the inlet', { cause: failed })
    await sleep(200)
  }
  const api = client.getWriteApi(v2.orgId, 'fleet', 'ms', { maxRetries: 0 })
  for (let i = 0; i < 20; i++) api.writePoint(new Point('air').tag('site', 'north').floatField('pm25', i))
  await api.close()
  assert.equal(v2.points.get('fleet')?.filter((l) => l.startsWith('air,')).length, 20)

  const leases = [...v2.authorizations.values()].filter((a) => a.description.startsWith('portico-lease:'))
  assert.equal(leases.length, 1)
  const lease = leases[0]
  assert.ok(lease !== undefined)
  // The bucket named in the seed's permissions, as InfluxDB reads a permission: by its id, in the org.
  const fleet = [...v2.buckets.values()].find((b) => b.name === 'fleet')
  assert.deepEqual(lease.permissions, [
    { action: 'write', resource: { type: 'buckets', id: fleet?.id, orgID: v2.orgId } },
    { action: 'read', resource: { type: 'buckets', id: fleet?.id, orgID: v2.orgId } }
  ])
  // "300" is seconds: the description carries the lease's end.
  const expires = Date.parse(/expires=(\S+)/.exec(lease.description)?.[1] ?? '')
  const left = (expires - Date.now()) / 1000
  assert.ok(left > 240 && left <= 300, `the lease ends in ${left} s`)
  const writes = v2.seen.filter((s) => s.path === '/api/v2/write')
  assert.ok(writes.length > 0 && writes.every((w) => w.authorization === `Token ${lease.token}`), 'a write carried something other than the lease')
  // Addressed to the database by its own name and port, not the inlet's, as a cloud ingress needs.
  const fromPortico = v2.seen.filter((s) => s.path === '/api/v2/write' || s.path.startsWith('/api/v2/authorizations'))
  assert.deepEqual([...new Set(fromPortico.map((s) => s.host))], [v2.address])

  const listed = JSON.parse(await ok(portico, 'lease', 'list', '--via', 'influxdb', '--identity', 'device', '--output', 'json')) as { id: string }[]
  assert.ok(listed.length >= 1, 'the device does not see its lease')
})

test('the tcp-outlet with tls: true carries the UI\'s plain HTTP to the HTTPS-only database', async () => {
  const r = await fetch(`http://127.0.0.1:${ports.ui}/ping`)
  assert.equal(r.status, 204)
  assert.equal(r.headers.get('x-influxdb-version'), 'v2.7.11')
})

test('lease create, show and revoke with --at ROUTE and plain output: the token, id and expiry once, then never the token', async () => {
  const at = ['--at', '/project/default/service/forward_to_influxdb/secure/api/service/influxdb-outlet-leases', '--identity', 'device']
  const created = await ok(portico, 'lease', 'create', ...at)
  const token = /^token: +(\S+)$/m.exec(created)?.[1] ?? ''
  const id = /^id: +([0-9a-f]+)$/m.exec(created)?.[1] ?? ''
  const expires = Date.parse(/^expires at: +(\S+)$/m.exec(created)?.[1] ?? '')
  assert.ok(token.length > 20 && id.length === 24, created.replace(token, '<token>'))
  assert.ok(Math.abs(expires - Date.now() - 300_000) < 30_000)
  issuedTokens.push(token)
  assert.equal(await directWrite(token, 'direct v=1'), 204, 'a person uses the token directly')
  const shown = await ok(portico, 'lease', 'show', id, ...at)
  assert.match(shown, new RegExp(`^id: ${id}$`, 'm'))
  assert.ok(!shown.includes(token))
  assert.match(await ok(portico, 'lease', 'revoke', id, ...at), new RegExp(`lease ${id} revoked`))
  assert.equal(await directWrite(token, 'direct v=2'), 401)
})

test('http-server-port serves health and metrics; no token reaches a log', async () => {
  assert.equal((await fetch(`http://127.0.0.1:${ports.http}/readyz`)).status, 200)
  const metrics = await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).text()
  assert.match(metrics, /portico_leases_issued_total\{outlet="influxdb-outlet"\} 2\n/)
  assert.match(metrics, /portico_leases_revoked_total\{outlet="influxdb-outlet"\} 1\n/)
  const secrets = [v2.allAccessToken, ...issuedTokens, ...[...v2.authorizations.values()].map((a) => a.token)]
  for (const node of readdirSync(join(portico.home, 'nodes'))) {
    const log = readFileSync(join(portico.home, 'nodes', node, 'node.log'), 'utf8')
    for (const s of secrets) assert.ok(!log.includes(s), `a token appeared in ${node}'s log`)
  }
})
