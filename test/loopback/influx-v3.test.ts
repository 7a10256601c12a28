import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { InfluxDB, Point } from '@influxdata/influxdb-client'
import { startProject, type TestProject } from '../support/project.js'
import { startV3Emulator, type V3Emulator } from '../support/influx-v3-emulator.js'
import { waitFor } from '../helpers.js'
import type { NodeRuntime } from '../../src/node/node-runtime.js'

// InfluxDB 3 Enterprise behind a relayed outlet, found by `api: auto`, against the emulator that
// checks every exchange against the API reference: each device writes with no credential of its
// own and gets a resource token for its own database only.
let project: TestProject
let v3: V3Emulator
let outlet: NodeRuntime
const inlets: Record<string, string> = {}
const identifiers: Record<string, string> = {}

before(async () => {
  project = await startProject()
  v3 = await startV3Emulator()
  outlet = await project.member('outlet', { 'influxdb-outlet': 'true', relay: 'influxdb3' }, {
    relay: ['influxdb3'],
    'influxdb-outlet': [{
      to: v3.address, tls: false, allow: 'influxdb-inlet', 'all-access-token': v3.adminToken, api: 'auto', from: 'influxdb-outlet',
      'leased-token-expires-in': 300, 'leased-token-permissions': JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]),
      'max-leases-per-identity': 2, 'max-leases': 100
    }]
  })
  await waitFor(() => outlet.portals.relays.get('influxdb3')?.[0]?.registered === true, 5000, 'relay')
  for (const device of ['plant-1', 'plant-2']) {
    const rt = await project.member(device, { 'influxdb-inlet': 'true', bucket: device }, {
      'influxdb-inlet': [{ from: '127.0.0.1:0', via: 'influxdb3', outlet: 'influxdb-outlet', 'leased-token-strategy': 'shared' }]
    })
    inlets[device] = [...rt.portals.influxdbInlets.keys()][0] ?? ''
    identifiers[device] = rt.node.identifier
  }
})
after(async () => {
  await project.stop()
  await v3.close()
  assert.deepEqual(v3.violations, [], 'an exchange broke the API contract')
})

test('native, v2-compatible and v1-compatible writes go through with an injected resource token, never the client\'s', async () => {
  for (const device of ['plant-1', 'plant-2']) {
    const native = await fetch(`http://${inlets[device] ?? ''}/api/v3/write_lp?db=${device}`, { method: 'POST', body: 'power kw=1\npower kw=2', headers: { authorization: 'Bearer client-supplied' } })
    assert.equal(native.status, 204)
    const client = new InfluxDB({ url: `http://${inlets[device] ?? ''}`, token: 'not-a-real-token-and-it-is-removed' })
    const api = client.getWriteApi('', device, 'ms', { maxRetries: 0 })
    for (let i = 0; i < 20; i++) api.writePoint(new Point('power').tag('device', device).floatField('kw', i))
    await api.close()
    const v1 = await fetch(`http://${inlets[device] ?? ''}/write?db=${device}&u=someone&p=secret`, { method: 'POST', body: 'power kw=3' })
    assert.equal(v1.status, 204)
    assert.equal(v3.points.get(device)?.length, 23)
  }
  const writes = v3.seen.filter((s) => s.path !== '/ping' && !s.path.includes('configure') && !s.path.includes('query_sql'))
  assert.equal(writes.length, 6)
  assert.ok(writes.every((w) => w.authorization?.startsWith('Bearer apiv3_') === true && w.authorization !== `Bearer ${v3.adminToken}`))
  const leased = [...v3.tokens.values()]
  assert.equal(leased.length, 2)
  assert.notEqual(leased[0]?.token, leased[1]?.token)
  assert.deepEqual(leased.map((t) => [...t.grants.keys()]).sort(), [['plant-1'], ['plant-2']])
  assert.ok(leased.every((t) => t.expiresAt !== undefined && t.expiresAt > Date.now() + 290_000 && t.name.startsWith('portico-lease-')))
})

test('a device writing to another device\'s database is refused by the database', async () => {
  const r = await fetch(`http://${inlets['plant-1'] ?? ''}/api/v3/write_lp?db=plant-2`, { method: 'POST', body: 'power kw=9' })
  assert.equal(r.status, 403)
})

test('at start-up, tagged tokens whose lease is unknown are revoked; other tokens are left alone', async () => {
  const manager = outlet.portals.leaseManagers.get('influxdb-outlet')
  assert.ok(manager !== undefined)
  for (const name of ['portico-lease-00000000deadbeef', 'grafana-readonly']) {
    const r = await fetch(`http://${v3.address}/api/v3/enterprise/configure/token`, {
      method: 'POST', headers: { authorization: `Bearer ${v3.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token_name: name, permissions: [{ resource_type: 'db', resource_names: ['x'], actions: ['read'] }] })
    })
    assert.equal(r.status, 201)
  }
  assert.equal(await manager.reconcile(), 1)
  assert.equal(v3.tokens.has('portico-lease-00000000deadbeef'), false)
  assert.equal(v3.tokens.has('grafana-readonly'), true)
  assert.equal([...v3.tokens.keys()].filter((n) => n.startsWith('portico-lease-')).length, 2)
})

test('revoking a lease deletes its token, and the next request gets a new one', async () => {
  const manager = outlet.portals.leaseManagers.get('influxdb-outlet')
  assert.ok(manager !== undefined)
  const before = [...v3.tokens.values()].find((t) => t.grants.has('plant-1'))
  assert.ok(before !== undefined)
  const lease = (await manager.list(identifiers['plant-1'] ?? ''))[0]
  assert.ok(lease !== undefined)
  await manager.revoke(identifiers['plant-1'] ?? '', lease.id)
  assert.equal(v3.tokens.has(before.name), false)
  const r = await fetch(`http://${inlets['plant-1'] ?? ''}/api/v3/write_lp?db=plant-1`, { method: 'POST', body: 'power kw=4' })
  assert.equal(r.status, 204)
  const after = [...v3.tokens.values()].find((t) => t.grants.has('plant-1'))
  assert.ok(after !== undefined && after.name !== before.name)
})

test('the emulator really checks the contract', async () => {
  const { result: r, violations: found } = await v3.expectViolations(() => fetch(`http://${v3.address}/api/v3/enterprise/configure/token`, {
    method: 'POST', headers: { authorization: `Bearer ${v3.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token_name: 'no-names', permissions: [{ resource_type: 'db', actions: ['read'] }] })
  }))
  assert.equal(r.status, 201)
  assert.ok(found.some((f) => /request: .*must have required property 'resource_names'/.test(f)), found.join('; '))
})
