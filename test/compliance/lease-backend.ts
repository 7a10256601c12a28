// The lease backend compliance suite: every LeaseBackend (v1 on a real InfluxDB 1.6.7, v2 and v3
// on emulators checked against their contracts) must pass it.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { LeaseBackend } from '../../src/influxdb/backends/backend.js'

/** A backend under test, and how to try a credential it issued against its server. */
export interface BackendUnderTest {
  name: string
  backend: () => LeaseBackend
  /** Tries the credential against the server: true if a write to `fleet` is accepted. */
  works: (authorization: string) => Promise<boolean>
}

const permissions = [{ action: 'write' as const, resource: { type: 'buckets', name: 'fleet' } }]

export function leaseBackendCompliance(kind: BackendUnderTest): void {
  describe(`lease backend compliance: ${kind.name}`, () => {
    test('issue gives a working credential tagged as a lease; revoke makes it fail; revoke is idempotent', async () => {
      const b = kind.backend()
      const leaseId = randomBytes(8).toString('hex')
      const t = await b.issue({ leaseId, identifier: 'I' + 'a'.repeat(64), expiresAt: Date.now() + 60_000, lifetimeMs: 60_000, permissions })
      assert.equal(await kind.works(t.authorization), true)
      assert.ok((await b.listTagged()).some((x) => x.leaseId === leaseId && x.backendId === t.backendId))
      await b.revoke(t.backendId)
      assert.equal(await kind.works(t.authorization), false)
      assert.ok(!(await b.listTagged()).some((x) => x.leaseId === leaseId))
      await b.revoke(t.backendId)
    })

    test('two leases are two distinct credentials', async () => {
      const b = kind.backend()
      const [x, y] = await Promise.all([1, 2].map(() => b.issue({ leaseId: randomBytes(8).toString('hex'), identifier: 'I' + 'b'.repeat(64), expiresAt: Date.now() + 60_000, lifetimeMs: 60_000, permissions })))
      assert.notEqual(x?.token, y?.token)
      assert.notEqual(x?.backendId, y?.backendId)
      for (const t of [x, y]) if (t !== undefined) await b.revoke(t.backendId)
    })
  })
}
