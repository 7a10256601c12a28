import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { InfluxDB, Point } from '@influxdata/influxdb-client'
import { startProject, type TestProject } from '../support/project.js'
import { startV2Emulator, type Authorization, type V2Emulator } from '../support/influx-v2-emulator.js'
import { waitFor } from '../helpers.js'
import type { NodeRuntime } from '../../src/node/node-runtime.js'
import { leaseDescription } from '../../src/influxdb/backends/v2-backend.js'
import { ownerMark } from '../../src/influxdb/leases/lease-manager.js'
import { selfSignedCertificate } from '../support/tls.js'
import { tempDir } from '../support/temp-dir.js'

// The v2 API (OSS 2.x, Cloud, Timestream for InfluxDB), with the seed's JSON configuration keys,
// against the emulator that checks every exchange against the official OpenAPI contract.
let project: TestProject
let v2: V2Emulator
let outlet: NodeRuntime
const inlets: Record<string, string> = {}

before(async () => {
  project = await startProject()
  v2 = await startV2Emulator({ buckets: ['sensor-a', 'sensor-b', 'g', 'lan', ...Array.from({ length: 10 }, (_, i) => `b${i}`)] })
  const permissions = JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}', orgID: 'INFLUX_ORG_ID' } }])
  outlet = await project.member('outlet', { 'amazon-influxdb-outlet': 'true', relay: 'influxdb' }, {
    'tcp-listener-address': undefined, 'http-server-port': 0, relay: ['influxdb'],
    'tcp-outlet': [{ to: v2.address, from: 'ui-outlet', allow: 'amazon-influxdb-inlet', tls: false }],
    'influxdb-outlet': [{
      to: v2.address, tls: false, allow: 'amazon-influxdb-inlet', 'org-id': v2.orgId, 'all-access-token': v2.allAccessToken, api: 'auto',
      'leased-token-expires-in': 300, 'leased-token-permissions': permissions, from: 'influxdb-outlet', 'max-leases-per-identity': 2, 'max-leases': 100
    }, {
      to: v2.address, tls: false, allow: 'amazon-influxdb-inlet', 'org-id': v2.orgId, 'all-access-token': v2.allAccessToken, api: 'v2',
      'leased-token-expires-in': 300, 'leased-token-permissions': permissions, from: 'small-outlet', 'max-leases-per-identity': 2, 'max-leases': 2
    }]
  })
  await waitFor(() => outlet.portals.relays.get('influxdb')?.[0]?.registered === true, 5000, 'relay')
  for (const device of ['sensor-a', 'sensor-b']) {
    const rt = await project.member(device, { 'amazon-influxdb-inlet': 'true', bucket: device }, {
      'influxdb-inlet': [{ from: '127.0.0.1:0', via: 'influxdb', outlet: 'influxdb-outlet', 'leased-token-strategy': 'shared' }]
    })
    inlets[device] = [...rt.portals.influxdbInlets.keys()][0] ?? ''
  }
})
after(async () => {
  await project.stop()
  assert.deepEqual(v2.violations, [], 'an exchange broke the OpenAPI contract')
  await v2.close()
})

test('the official @influxdata/influxdb-client writes (gzip bodies) through the inlet with no token; each device gets its own', async () => {
  for (const device of ['sensor-a', 'sensor-b']) {
    const client = new InfluxDB({ url: `http://${inlets[device] ?? ''}`, token: 'not-a-real-token-and-it-is-removed' })
    const api = client.getWriteApi(v2.orgId, device, 'ms', { maxRetries: 0 })
    for (let i = 0; i < 50; i++) api.writePoint(new Point('air').tag('device', device).floatField('pm25', i))
    await api.close()
    assert.equal(v2.points.get(device)?.length, 50)
  }
  const writes = v2.seen.filter((s) => s.path === '/api/v2/write')
  assert.ok(writes.every((w) => w.authorization !== undefined && !w.authorization.includes('not-a-real-token')))
  const leases = [...v2.authorizations.values()].filter((a) => a.description.startsWith('portico-lease:'))
  assert.equal(leases.length, 2)
  assert.notEqual(leases[0]?.token, leases[1]?.token)
  // Each token names its bucket as InfluxDB reads a permission: by id, in the org; no name is sent.
  assert.deepEqual(leases.map((l) => v2.buckets.get(l.permissions[0]?.resource.id ?? '')?.name).sort(), ['sensor-a', 'sensor-b'])
  assert.ok(leases.every((l) => l.permissions[0]?.resource.orgID === v2.orgId && l.permissions[0].resource.name === undefined))
})

test('the emulator matches permissions as InfluxDB does: a name-only permission is one for every bucket of the org', async () => {
  const nameOnly = await fetch(`http://${v2.address}/api/v2/authorizations`, {
    method: 'POST', headers: { authorization: `Token ${v2.allAccessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ orgID: v2.orgId, description: 'name only', permissions: [{ action: 'write', resource: { type: 'buckets', name: 'sensor-a', orgID: v2.orgId } }] })
  })
  assert.equal(nameOnly.status, 201)
  const { token, id } = await nameOnly.json() as { token: string; id: string }
  // The name was dropped: the token writes to sensor-b as well.
  const other = await fetch(`http://${v2.address}/api/v2/write?org=${v2.orgId}&bucket=sensor-b`, { method: 'POST', headers: { authorization: `Token ${token}` }, body: 'leak v=1' })
  assert.equal(other.status, 204)
  v2.authorizations.delete(id)
  // Without an org id it is every bucket of every org: more than an org's all-access token may grant.
  const global = await fetch(`http://${v2.address}/api/v2/authorizations`, {
    method: 'POST', headers: { authorization: `Token ${v2.allAccessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ orgID: v2.orgId, description: 'global', permissions: [{ action: 'write', resource: { type: 'buckets' } }] })
  })
  assert.equal(global.status, 401)
})

test('a lease for a bucket that does not exist is refused, with the reason, and leaves no token behind', async () => {
  const manager = outlet.portals.leaseManagers.get('influxdb-outlet')
  assert.ok(manager !== undefined)
  const tokens = v2.authorizations.size
  await assert.rejects(manager.create({ identifier: 'Inowhere', attributes: { bucket: 'no-such-bucket' } }), /bucket 'no-such-bucket' does not exist/)
  assert.equal(v2.authorizations.size, tokens)
})

test('a device writing to another device\'s bucket is refused by its inlet, and by the database with its lease', async () => {
  const client = new InfluxDB({ url: `http://${inlets['sensor-a'] ?? ''}` })
  const api = client.getWriteApi(v2.orgId, 'sensor-b', 'ms', { maxRetries: 0 })
  api.writePoint(new Point('air').floatField('pm25', 1))
  await assert.rejects(api.close(), /may not write bucket 'sensor-b'/)
  // The database's own check, with the lease of sensor-a sent straight to it.
  const manager = outlet.portals.leaseManagers.get('influxdb-outlet')
  assert.ok(manager !== undefined)
  const lease = await manager.create({ identifier: 'Isensor-a-direct', attributes: { bucket: 'sensor-a' } })
  const direct = await fetch(`http://${v2.address}/api/v2/write?org=${v2.orgId}&bucket=sensor-b`, { method: 'POST', headers: { authorization: lease.authorization }, body: 'air pm25=1' })
  assert.equal(direct.status, 401)
  await manager.revoke('Isensor-a-direct', lease.id)
})

test('leases are capped per identity, and listed only to their holder', async () => {
  const manager = outlet.portals.leaseManagers.get('influxdb-outlet')
  assert.ok(manager !== undefined)
  const id = (await project.member('greedy', { 'amazon-influxdb-inlet': 'true', bucket: 'g' })).node.identifier
  await manager.create({ identifier: id, attributes: { bucket: 'g' } })
  await manager.create({ identifier: id, attributes: { bucket: 'g' } })
  await assert.rejects(manager.create({ identifier: id, attributes: { bucket: 'g' } }), /max-leases-per-identity/)
  await assert.rejects(manager.create({ identifier: 'Iother', attributes: {} }), /lacks the attribute bucket/)
  assert.equal((await manager.list(id)).length, 2)
  assert.equal((await manager.list('Inobody')).length, 0)
})

test('an outlet holds at most max-leases active leases in total; a revoked one frees its place', async () => {
  const small = outlet.portals.leaseManagers.get('small-outlet')
  const large = outlet.portals.leaseManagers.get('influxdb-outlet')
  assert.ok(small !== undefined && large !== undefined)
  const subject = (n: number): { identifier: string; attributes: { bucket: string } } => ({ identifier: `I${String(n).repeat(64)}`, attributes: { bucket: `b${n}` } })
  const first = await small.create(subject(1))
  await small.create(subject(2))
  await assert.rejects(small.create(subject(3)), /the outlet holds its maximum of 2 active leases/)
  // Another outlet on the node counts only its own.
  await large.create(subject(3))
  await small.revoke(subject(1).identifier, first.id)
  await small.create(subject(3))
  assert.equal([...v2.authorizations.values()].filter((a) => a.description.startsWith('portico-lease:')).length >= 4, true)
})

test('at start-up, tagged tokens whose lease is unknown or expired are revoked (no orphans after a crash); other outlets\' are left alone', async () => {
  const manager = outlet.portals.leaseManagers.get('influxdb-outlet')
  assert.ok(manager !== undefined)
  const tagged = (id: string, leaseId: string, description = leaseDescription(leaseId, 'Ix', Date.now() + 60_000)): Authorization => ({ id, token: `t-${id}`, orgID: v2.orgId, description,
    status: 'active', permissions: [{ action: 'read', resource: { type: 'buckets' } }], createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() })
  const mark = ownerMark(`${outlet.node.identifier}/influxdb-outlet`)
  const ours = tagged('deadbeef00000001', `${mark}00000000deadbeef`)
  // Issued before lease ids carried an owner mark: judged ours, as it always was.
  const unmarked = tagged('deadbeef00000002', '00000000deadbeef')
  // Another node's outlet on the same database, with a store of its own: not ours to judge.
  const foreign = tagged('deadbeef00000003', `${mark === 'ffffffff' ? 'eeeeeeee' : 'ffffffff'}00000000deadbeef`)
  const untagged = tagged('cafe000000000002', '', 'a token a person made')
  for (const a of [ours, unmarked, foreign, untagged]) v2.authorizations.set(a.id, a)
  assert.equal(await manager.reconcile(), 2)
  assert.deepEqual([ours, unmarked, foreign, untagged].map((a) => v2.authorizations.has(a.id)), [false, false, true, true])
  const smallOnes = [...v2.authorizations.values()].filter((a) => a.description.startsWith('portico-lease:') && a.id !== foreign.id)
  assert.ok(smallOnes.length >= 4, 'the other outlet of this node lost its leases')
})

/**
 * A device with an influxdb-inlet whose `to` route leads straight to `outlet` on node `db` (its
 * `outlet` key left at the default, as when it is not given), writing one point to `bucket`.
 */
async function deviceWritesStraightTo(db: NodeRuntime, outlet: string, device: string, bucket: string, orgId: string): Promise<{ device: NodeRuntime; to: string }> {
  const to = `/ip4/${db.node.listenAddress?.replace(':', '/tcp/') ?? ''}/secure/api/service/${outlet}`
  const rt = await project.member(device, { 'amazon-influxdb-inlet': 'true', bucket }, {
    'influxdb-inlet': [{ from: '127.0.0.1:0', to, outlet: 'influxdb-outlet', allow: 'amazon-influxdb-outlet', 'leased-token-strategy': 'shared' }]
  })
  const api = new InfluxDB({ url: `http://${[...rt.portals.influxdbInlets.keys()][0] ?? ''}` }).getWriteApi(orgId, bucket, 'ms', { maxRetries: 0 })
  api.writePoint(new Point('air').floatField('pm25', 7))
  await api.close()
  return { device: rt, to }
}

test('an influxdb-inlet with `to`, a route straight to the outlet node, uses the outlet named in it; a route naming none is refused', async () => {
  const direct = await project.member('direct-outlet', { 'amazon-influxdb-outlet': 'true' }, {
    'influxdb-outlet': [{
      to: v2.address, tls: false, allow: 'amazon-influxdb-inlet', 'org-id': v2.orgId, 'all-access-token': v2.allAccessToken, api: 'v2',
      'leased-token-expires-in': 300, 'leased-token-permissions': '[{"action":"write","resource":{"type":"buckets","name":"{subject.bucket}"}}]', from: 'lan-outlet', 'max-leases-per-identity': 2, 'max-leases': 100
    }]
  })
  // The inlet's `outlet` key is at its default: the route's own outlet wins.
  const { device, to } = await deviceWritesStraightTo(direct, 'lan-outlet', 'lan-device', 'lan', v2.orgId)
  assert.equal(v2.points.get('lan')?.length, 1)
  assert.equal((await direct.portals.leaseManagers.get('lan-outlet')?.list(device.node.identifier))?.length, 1)
  await assert.rejects(device.portals.addInfluxdbInlet({ from: '127.0.0.1:0', to: to.replace('/service/lan-outlet', ''), outlet: 'lan-outlet', 'leased-token-strategy': 'shared' }),
    /an inlet's route must end in \/secure\/…\/service\/OUTLET/)
})

test('a database reached by address but certified under a name (tls-server-name) is checked and addressed by that name', async () => {
  const dir = tempDir('portico-v2-named-')
  const cert = selfSignedCertificate(dir, ['DNS:influxdb.test'])
  const named = await startV2Emulator({ tls: cert, buckets: ['named'] })
  try {
    const port = named.address.split(':').at(-1) ?? ''
    const db = await project.member('named-outlet', { 'amazon-influxdb-outlet': 'true' }, {
      'influxdb-outlet': [{
        to: named.address, tls: true, 'tls-ca-file': cert.certFile, 'tls-server-name': 'influxdb.test', allow: 'amazon-influxdb-inlet', 'org-id': named.orgId,
        'all-access-token': named.allAccessToken, api: 'auto', 'leased-token-expires-in': 300, from: 'named-outlet', 'max-leases-per-identity': 2, 'max-leases': 100,
        'leased-token-permissions': '[{"action":"write","resource":{"type":"buckets","name":"{subject.bucket}"}}]'
      }]
    })
    // api: auto has asked /ping and found v2: the name was used for the certificate check.
    await waitFor(() => db.portals.notReady().length === 0, 5000, 'api detected')
    await deviceWritesStraightTo(db, 'named-outlet', 'named-device', 'named', named.orgId)
    assert.equal(named.points.get('named')?.length, 1)
    // Detection, the lease's issue and the write all asked for the database by its name.
    assert.deepEqual([...new Set(named.seen.map((s) => s.host))], [`influxdb.test:${port}`])
    assert.deepEqual(named.violations, [])
  } finally {
    await named.close()
  }
})

test('the emulator really checks the contract', async () => {
  const { result: r, violations: found } = await v2.expectViolations(() => fetch(`http://${v2.address}/api/v2/authorizations`, { method: 'POST', headers: { authorization: `Token ${v2.allAccessToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ orgID: v2.orgId, permissions: [] }) }))
  assert.equal(r.status, 201)
  assert.equal(found.length, 2)
  assert.match(found[0] ?? '', /request: .*permissions must NOT have fewer than 1 items/)
  assert.match(found[1] ?? '', /response 201: .*permissions must NOT have fewer than 1 items/)
})
