import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { LeaseBackend } from '../../src/influxdb/backend.js'
import { detectApi } from '../../src/influxdb/detect.js'
import { V1Backend } from '../../src/influxdb/v1-backend.js'
import { V2Backend } from '../../src/influxdb/v2-backend.js'
import { startInflux, type InfluxServer } from '../support/influxdb.js'
import { startV2Emulator, type V2Emulator } from '../support/influx-v2-emulator.js'

// One compliance suite for every lease backend: v1 against a real InfluxDB 1.6.7, v2 against the
// contract-checked emulator.
let influx: InfluxServer
let v2: V2Emulator
before(async () => {
  influx = await startInflux({ sharedSecret: 'backend-suite-secret' })
  await influx.query('CREATE DATABASE fleet', { username: influx.admin.username, password: influx.admin.password })
  v2 = await startV2Emulator()
})
after(async () => {
  await influx.stop()
  assert.deepEqual(v2.violations, [])
  await v2.close()
})

interface Kind {
  name: string
  backend: () => LeaseBackend
  /** Tries the credential against the server: true if a write to `fleet` is accepted. */
  works: (authorization: string) => Promise<boolean>
}

const kinds: Kind[] = [
  {
    name: 'v1 (InfluxDB 1.6.7)',
    backend: () => new V1Backend({ endpoint: { to: influx.address, tls: false }, adminUsername: influx.admin.username, adminPassword: influx.admin.password, sharedSecret: 'backend-suite-secret' }),
    works: async (authorization) => (await fetch(`${influx.url}/write?db=fleet`, { method: 'POST', body: 'm v=1', headers: { authorization } })).status === 204
  },
  {
    name: 'v2 (emulator checked against the OpenAPI contract)',
    backend: () => new V2Backend({ endpoint: { to: v2.address, tls: false }, orgId: v2.orgId, allAccessToken: v2.allAccessToken }),
    works: async (authorization) => (await fetch(`http://${v2.address}/api/v2/write?org=${v2.orgId}&bucket=fleet`, { method: 'POST', body: 'm v=1', headers: { authorization } })).status === 204
  }
]

const permissions = [{ action: 'write' as const, resource: { type: 'buckets', name: 'fleet' } }]

for (const kind of kinds) {
  describe(`lease backend compliance: ${kind.name}`, () => {
    test('issue gives a working credential tagged as a lease; revoke makes it fail; revoke is idempotent', async () => {
      const b = kind.backend()
      const leaseId = randomBytes(8).toString('hex')
      const t = await b.issue({ leaseId, identifier: 'I' + 'a'.repeat(64), expiresAt: Date.now() + 60_000, permissions })
      assert.equal(await kind.works(t.authorization), true)
      assert.ok((await b.listTagged()).some((x) => x.leaseId === leaseId && x.backendId === t.backendId))
      await b.revoke(t.backendId)
      assert.equal(await kind.works(t.authorization), false)
      assert.ok(!(await b.listTagged()).some((x) => x.leaseId === leaseId))
      await b.revoke(t.backendId)
    })

    test('two leases are two distinct credentials', async () => {
      const b = kind.backend()
      const [x, y] = await Promise.all([1, 2].map(() => b.issue({ leaseId: randomBytes(8).toString('hex'), identifier: 'I' + 'b'.repeat(64), expiresAt: Date.now() + 60_000, permissions })))
      assert.notEqual(x?.token, y?.token)
      assert.notEqual(x?.backendId, y?.backendId)
      for (const t of [x, y]) if (t !== undefined) await b.revoke(t.backendId)
    })
  })
}

test('api auto reads X-Influxdb-Version from /ping', async () => {
  assert.equal(await detectApi({ to: influx.address, tls: false }), 'v1')
  assert.equal(await detectApi({ to: v2.address, tls: false }), 'v2')
})

test('v1: the JWT expires on the server itself, even if the lease manager is down', async () => {
  const b = kinds[0]?.backend() as V1Backend
  const t = await b.issue({ leaseId: randomBytes(8).toString('hex'), identifier: 'I' + 'c'.repeat(64), expiresAt: Date.now() + 1500, permissions })
  assert.equal(await kinds[0]?.works(t.authorization), true)
  await new Promise((r) => setTimeout(r, 2600))
  assert.equal(await kinds[0]?.works(t.authorization), false)
  await b.revoke(t.backendId)
})
