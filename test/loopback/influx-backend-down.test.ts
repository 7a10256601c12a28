import { after, test } from 'node:test'
import { randomBytes } from 'node:crypto'
import assert from 'node:assert/strict'
import { startProject } from '../support/project.js'
import { startV2Emulator, type V2Emulator } from '../support/influx-v2-emulator.js'
import { freePort } from '../support/postgres.js'
import { waitFor } from '../helpers.js'
import { leaseDescription } from '../../src/influxdb/backends/v2-backend.js'
import { RECONCILE_GRACE_MS } from '../../src/influxdb/leases/lease-manager.js'

// When the database goes away: the client gets a 502 with a message, and revocations retry.
const project = await startProject()
const v2 = await startV2Emulator({ buckets: ['b'] })
let late: V2Emulator | undefined
after(async () => {
  await project.stop()
  await v2.close()
  await late?.close()
  assert.deepEqual([...v2.violations, ...late?.violations ?? []], [], 'an exchange broke the OpenAPI contract')
})

test('backend down: 503 naming the database, with Retry-After; failed revocations are retried and counted', async () => {
  const outlet = await project.member('outlet', { relay: 'influxdb', 'influxdb-outlet': 'true' }, {
    'tcp-listener-address': undefined, relay: ['influxdb'],
    'influxdb-outlet': [{
      to: v2.address, tls: false, api: 'v2', allow: 'influxdb-inlet', 'org-id': v2.orgId, 'all-access-token': v2.allAccessToken, from: 'influxdb-outlet',
      'leased-token-expires-in': 2, 'leased-token-permissions': '[{"action":"write","resource":{"type":"buckets","name":"b"}}]', 'max-leases-per-identity': 10, 'max-leases': 100
    }]
  })
  await waitFor(() => outlet.portals.relays.get('influxdb')?.[0]?.registered === true, 5000, 'relay')
  const device = await project.member('device', { 'influxdb-inlet': 'true' }, {
    'influxdb-inlet': [{ from: '127.0.0.1:0', via: 'influxdb', outlet: 'influxdb-outlet', 'leased-token-strategy': 'shared' }]
  })
  const url = `http://${[...device.portals.influxdbInlets.keys()][0] ?? ''}/api/v2/write?org=${v2.orgId}&bucket=b`
  assert.equal((await fetch(url, { method: 'POST', body: 'm v=1' })).status, 204)

  await v2.close()
  const r = await fetch(url, { method: 'POST', body: 'm v=2' })
  assert.equal(r.status, 503)
  assert.ok(Number(r.headers.get('retry-after')) >= 1)
  assert.match(await r.text(), /the outlet cannot connect to the database at /)

  // The lease expires while the database is down: its revocation fails, is counted, and is retried.
  const manager = outlet.portals.leaseManagers.get('influxdb-outlet')
  await waitFor(() => (manager?.stats.revokeFailures ?? 0) >= 2, 10_000, 'retried revocations')
  assert.equal(manager?.stats.revoked, 0)
  const metrics = await outlet.registry.metrics()
  assert.match(metrics, /^portico_lease_revocation_failures_total\{outlet="influxdb-outlet"\} [2-9]\d*$/m)
  // Prometheus naming: every counter is typed as one and ends in _total; nothing else does.
  const types = [...metrics.matchAll(/^# TYPE (portico_\S+) (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? ''])
  assert.ok(types.length > 10)
  for (const [name = '', type] of types) if (!name.startsWith('portico_process_') && !name.startsWith('portico_nodejs_')) assert.equal(name.endsWith('_total'), type === 'counter', `${name} is a ${type}`)
})

test('api auto, database away at start: the outlet starts, says why it is not ready, and serves once the database answers', async () => {
  const port = await freePort()
  const credentials = { orgId: randomBytes(8).toString('hex'), allAccessToken: randomBytes(32).toString('base64url') }
  const outlet = await project.member('late-outlet', { relay: 'late', 'influxdb-outlet': 'true' }, {
    'tcp-listener-address': undefined, relay: ['late'],
    'influxdb-outlet': [{
      to: `127.0.0.1:${port}`, tls: false, api: 'auto', allow: 'influxdb-inlet', 'org-id': credentials.orgId, 'all-access-token': credentials.allAccessToken, from: 'influxdb-outlet',
      'leased-token-expires-in': 300, 'leased-token-permissions': '[{"action":"write","resource":{"type":"buckets","name":"b"}}]', 'max-leases-per-identity': 10, 'max-leases': 100
    }]
  })
  await waitFor(() => outlet.portals.relays.get('late')?.[0]?.registered === true, 5000, 'relay')
  assert.match(outlet.notReady().join('; '), /influxdb outlet influxdb-outlet: waiting for the database: cannot reach the database at 127\.0\.0\.1:\d+/)
  const device = await project.member('late-device', { 'influxdb-inlet': 'true' }, {
    'influxdb-inlet': [{ from: '127.0.0.1:0', via: 'late', outlet: 'influxdb-outlet', 'leased-token-strategy': 'shared' }]
  })
  const url = `http://${[...device.portals.influxdbInlets.keys()][0] ?? ''}/api/v2/write?org=${credentials.orgId}&bucket=b`
  const early = await fetch(url, { method: 'POST', body: 'm v=1' })
  assert.equal(early.status, 503)
  assert.match(await early.text(), /does not know the database's API yet \(waiting for the database: cannot reach/)
  // The device is not ready while it holds no lease, and says why.
  assert.match(device.notReady().join('; '), /influxdb inlet 127\.0\.0\.1:\d+: no lease: .*does not know the database's API yet/)

  // The database comes up, with a credential an earlier run of the outlet left behind.
  late = await startV2Emulator({ port, credentials, buckets: ['b'] })
  late.authorizations.set('orphan', { id: 'orphan', token: 't', orgID: credentials.orgId, description: leaseDescription('0123456789abcdef', 'Igone', Date.now() + 60_000),
    status: 'active', permissions: [{ action: 'write', resource: { type: 'buckets', name: 'b' } }], createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() })
  const manager = outlet.portals.leaseManagers.get('influxdb-outlet')
  await waitFor(() => manager?.kind === 'v2', 10_000, 'the API detected')
  // Reconcile looks again after RECONCILE_GRACE_MS before it revokes a credential the store does not know (a sibling outlet may have just issued it).
  await waitFor(() => !late?.authorizations.has('orphan'), RECONCILE_GRACE_MS + 5000, 'the orphan revoked')
  assert.deepEqual(outlet.notReady(), [])
  const r = await fetch(url, { method: 'POST', body: 'm v=2' })
  assert.equal(r.status, 204)
  assert.deepEqual(late.points.get('b'), ['m v=2'])
  assert.equal([...late.authorizations.values()].filter((a) => a.description.startsWith('portico-lease:')).length, 1)
  assert.equal((await manager?.list(device.node.identifier))?.[0]?.backend, 'v2')
  await waitFor(() => device.notReady().length === 0, 10_000, 'the device ready once it holds a lease')
  // The device's /metrics tell the story: one request without a lease (a 503), failed lease requests (the client's and the inlet's own), then one lease.
  const metrics = await device.registry.metrics()
  const inlet = [...device.portals.influxdbInlets.keys()][0] ?? ''
  for (const [name, value] of [['requests', '2'], ['without_lease', '1'], ['lease_failures', '[1-9]'], ['leases_obtained', '1'], ['upstream_errors', '0'], ['bad_requests', '0'], ['retried_after_401', '0']] as const) {
    assert.match(metrics, new RegExp(`^portico_influxdb_inlet_${name}_total\\{inlet="${inlet.replaceAll('.', '\\.')}"\\} ${value}$`, 'm'))
  }
})
