import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { leaseBackendCompliance, type BackendUnderTest } from '../compliance/lease-backend.js'
import { detectApi } from '../../src/influxdb/backends/detecting-backend.js'
import { V1Backend } from '../../src/influxdb/backends/v1-backend.js'
import { V2Backend } from '../../src/influxdb/backends/v2-backend.js'
import { V3Backend, v3Permissions } from '../../src/influxdb/backends/v3-backend.js'
import { startInflux, type InfluxServer } from '../support/influxdb.js'
import { startV2Emulator, type V2Emulator } from '../support/influx-v2-emulator.js'
import { startV3Emulator, type V3Emulator } from '../support/influx-v3-emulator.js'

// One compliance suite for every lease backend: v1 against a real InfluxDB 1.6.7, v2 and v3
// (Enterprise) against the contract-checked emulators.
let influx: InfluxServer
let v2: V2Emulator
let v3: V3Emulator
before(async () => {
  influx = await startInflux({ sharedSecret: 'backend-suite-secret' })
  await influx.query('CREATE DATABASE fleet', { username: influx.admin.username, password: influx.admin.password })
  v2 = await startV2Emulator({ buckets: ['fleet'] })
  v3 = await startV3Emulator()
})
after(async () => {
  await influx.stop()
  await v2.close()
  await v3.close()
  assert.deepEqual(v2.violations, [])
  assert.deepEqual(v3.violations, [])
})

const kinds: BackendUnderTest[] = [
  {
    name: 'v1 (InfluxDB 1.6.7)',
    backend: () => new V1Backend({ endpoint: { to: influx.address, tls: false }, adminUsername: influx.admin.username, adminPassword: influx.admin.password, sharedSecret: 'backend-suite-secret' }),
    works: async (authorization) => (await fetch(`${influx.url}/write?db=fleet`, { method: 'POST', body: 'm v=1', headers: { authorization } })).status === 204
  },
  {
    // Without a shared secret the lease is the user's password, injected as Basic authentication.
    name: 'v1 (InfluxDB 1.6.7) without shared-secret',
    backend: () => new V1Backend({ endpoint: { to: influx.address, tls: false }, adminUsername: influx.admin.username, adminPassword: influx.admin.password }),
    works: async (authorization) => (await fetch(`${influx.url}/write?db=fleet`, { method: 'POST', body: 'm v=1', headers: { authorization } })).status === 204
  },
  {
    name: 'v2 (emulator checked against the OpenAPI contract)',
    backend: () => new V2Backend({ endpoint: { to: v2.address, tls: false }, orgId: v2.orgId, allAccessToken: v2.allAccessToken }),
    works: async (authorization) => (await fetch(`http://${v2.address}/api/v2/write?org=${v2.orgId}&bucket=fleet`, { method: 'POST', body: 'm v=1', headers: { authorization } })).status === 204
  },
  {
    name: 'v3 Enterprise (emulator checked against the API reference)',
    backend: () => new V3Backend({ endpoint: { to: v3.address, tls: false }, adminToken: v3.adminToken }),
    works: async (authorization) => (await fetch(`http://${v3.address}/api/v3/write_lp?db=fleet`, { method: 'POST', body: 'm v=1', headers: { authorization } })).status === 204
  }
]

const kind = (prefix: string): BackendUnderTest => {
  const k = kinds.find((x) => x.name.startsWith(prefix))
  if (k === undefined) throw new Error(`no backend kind ${prefix}`)
  return k
}

for (const k of kinds) leaseBackendCompliance(k)

const permissions = [{ action: 'write' as const, resource: { type: 'buckets', name: 'fleet' } }]

test('api auto reads X-Influxdb-Version from /ping (asking InfluxDB 3 Enterprise again with the token)', async () => {
  assert.equal(await detectApi({ to: influx.address, tls: false }), 'v1')
  assert.equal(await detectApi({ to: v2.address, tls: false }), 'v2')
  assert.equal(await detectApi({ to: v3.address, tls: false }, undefined, v3.adminToken), 'v3')
  await assert.rejects(detectApi({ to: v3.address, tls: false }), /wants a token/)
})

test('v3: the token is created with expiry_secs, so the server itself refuses it after the lease', async () => {
  const b = kind('v3').backend() as V3Backend
  const t = await b.issue({ leaseId: randomBytes(8).toString('hex'), identifier: 'I' + 'd'.repeat(64), expiresAt: Date.now() + 1500, lifetimeMs: 1500, permissions })
  assert.equal(await kind('v3').works(t.authorization), true)
  assert.match(t.authorization, /^Bearer apiv3_/)
  await new Promise((r) => setTimeout(r, 2600))
  assert.equal(await kind('v3').works(t.authorization), false)
  await b.revoke(t.backendId)
})

test('v3: permissions become resource-token permissions, one entry per set of actions; unnamed buckets are refused', () => {
  const p = v3Permissions([
    { action: 'write', resource: { type: 'buckets', name: 'a' } }, { action: 'read', resource: { type: 'buckets', name: 'a' } },
    { action: 'write', resource: { type: 'buckets', name: 'b' } }, { action: 'write', resource: { type: 'buckets', name: 'c' } }
  ])
  assert.deepEqual(p.map((x) => [x.actions, x.resource_names]), [[['read', 'write'], ['a']], [['write'], ['b', 'c']]])
  assert.ok(p.every((x) => x.resource_type === 'db' && x.resource_identifier === x.resource_names))
  assert.throws(() => v3Permissions([{ action: 'read', resource: { type: 'buckets' } }]), /with a name/)
  assert.throws(() => v3Permissions([{ action: 'read', resource: { type: 'buckets', name: 'x"; DROP' } }]), /not an acceptable database name/)
})

test('v3: an answer without the token string is refused with a clear error', async () => {
  const { createServer } = await import('node:http')
  const s = createServer((_req, res) => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ token_name: 'x', permissions: [] })))
  s.listen(0, '127.0.0.1')
  await new Promise((r) => s.once('listening', r))
  const port = (s.address() as { port: number }).port
  const b = new V3Backend({ endpoint: { to: `127.0.0.1:${port}`, tls: false }, adminToken: 'admin' })
  await assert.rejects(b.issue({ leaseId: 'ab', identifier: 'I', expiresAt: Date.now() + 60_000, lifetimeMs: 60_000, permissions }), /carried no token string/)
  s.close()
})

test('v3: a token made with other databases than the lease\'s (a server that read the list under another name) is deleted and refused', async () => {
  const { createServer } = await import('node:http')
  const seen: string[] = []
  const s = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`)
    if (req.method === 'DELETE') return res.writeHead(200).end()
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'apiv3_x', token_name: 'x', permissions: [{ resource_type: 'db', resource_names: ['*'], actions: ['write'] }] }))
  })
  s.listen(0, '127.0.0.1')
  await new Promise((r) => s.once('listening', r))
  const port = (s.address() as { port: number }).port
  const b = new V3Backend({ endpoint: { to: `127.0.0.1:${port}`, tls: false }, adminToken: 'admin' })
  await assert.rejects(b.issue({ leaseId: 'ab', identifier: 'I', expiresAt: Date.now() + 60_000, lifetimeMs: 60_000, permissions }), /permissions are not the lease's .*db:\*:write.*deleted/)
  assert.ok(seen.some((x) => x.startsWith('DELETE /api/v3/configure/token?token_name=portico-lease-ab')), seen.join('; '))
  s.close()
})

test('v2: named buckets go to InfluxDB as ids in the org, and the inlet still learns their names', async () => {
  const b = kind('v2 (emulator checked against the OpenAPI contract)').backend() as V2Backend
  const t = await b.issue({ leaseId: randomBytes(8).toString('hex'), identifier: 'I' + 'd'.repeat(64), expiresAt: Date.now() + 60_000, lifetimeMs: 60_000, permissions })
  const fleet = [...v2.buckets.values()].find((x) => x.name === 'fleet')
  assert.deepEqual(t.permissions, [{ action: 'write', resource: { type: 'buckets', id: fleet?.id, orgID: v2.orgId, name: 'fleet' } }])
  assert.deepEqual(v2.authorizations.get(t.backendId)?.permissions, [{ action: 'write', resource: { type: 'buckets', id: fleet?.id, orgID: v2.orgId } }])
  await b.revoke(t.backendId)
})

test('v1: the JWT expires on the server itself, even if the lease manager is down', async () => {
  const b = kind('v1 (InfluxDB 1.6.7)').backend() as V1Backend
  const t = await b.issue({ leaseId: randomBytes(8).toString('hex'), identifier: 'I' + 'c'.repeat(64), expiresAt: Date.now() + 1500, lifetimeMs: 1500, permissions })
  assert.equal(await kind('v1 (InfluxDB 1.6.7)').works(t.authorization), true)
  await new Promise((r) => setTimeout(r, 2600))
  assert.equal(await kind('v1 (InfluxDB 1.6.7)').works(t.authorization), false)
  await b.revoke(t.backendId)
})
