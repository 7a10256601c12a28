import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { startProject } from '../support/project.js'
import { startV2Emulator } from '../support/influx-v2-emulator.js'
import { waitFor } from '../helpers.js'

// When the database goes away: the client gets a 502 with a message, and revocations retry.
const project = await startProject()
const v2 = await startV2Emulator()
after(async () => {
  await project.stop()
  await v2.close()
})

test('backend down: 502 with a message for the client; failed revocations are retried and counted', async () => {
  const outlet = await project.member('outlet', { relay: 'influxdb', 'influxdb-outlet': 'true' }, {
    'tcp-listener-address': undefined, relay: ['influxdb'],
    'influxdb-outlet': [{
      to: v2.address, tls: false, api: 'v2', allow: 'influxdb-inlet', 'org-id': v2.orgId, 'all-access-token': v2.allAccessToken, from: 'influxdb-outlet',
      'leased-token-expires-in': 2, 'leased-token-permissions': '[{"action":"write","resource":{"type":"buckets","name":"b"}}]', 'max-leases-per-identity': 10, 'max-leases': 100
    }]
  })
  await waitFor(() => outlet.portals.relays.get('influxdb')?.registered === true, 5000, 'relay')
  const device = await project.member('device', { 'influxdb-inlet': 'true' }, {
    'influxdb-inlet': [{ from: '127.0.0.1:0', via: 'influxdb', outlet: 'influxdb-outlet', 'leased-token-strategy': 'shared' }]
  })
  const url = `http://${[...device.portals.influxdbInlets.keys()][0] ?? ''}/api/v2/write?org=${v2.orgId}&bucket=b`
  assert.equal((await fetch(url, { method: 'POST', body: 'm v=1' })).status, 204)

  await v2.close()
  const r = await fetch(url, { method: 'POST', body: 'm v=2' })
  assert.equal(r.status, 502)
  assert.match(await r.text(), /could not be reached through the portal/)

  // The lease expires while the database is down: its revocation fails, is counted, and is retried.
  const manager = outlet.portals.leaseManagers.get('influxdb-outlet')
  await waitFor(() => (manager?.stats.revokeFailures ?? 0) >= 2, 10_000, 'retried revocations')
  assert.equal(manager?.stats.revoked, 0)
  const metrics = await outlet.registry.metrics()
  assert.match(metrics, /^portico_lease_revocation_failures\{outlet="influxdb-outlet"\} [2-9]\d*$/m)
})
