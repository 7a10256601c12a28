import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openStore } from '../../src/store/open-store.js'
import { StoreError } from '../../src/store/store.js'
import { storeCompliance } from '../compliance/store.js'
import { startPostgres, type PostgresServer } from '../support/postgres.js'
import { tempDir } from '../support/temp-dir.js'

const dir = tempDir('portico-store-')
let postgres: PostgresServer | undefined
let dbCount = 0

before(async () => { postgres = await startPostgres() })
after(() => { postgres?.stop() })

storeCompliance('sqlite', () => Promise.resolve(`sqlite:${join(dir, `s${dbCount++}.sqlite`)}`))
storeCompliance('postgres', () => (postgres as PostgresServer).createDatabase(`s${dbCount++}`))

test('a corrupt SQLite file is a clear StoreError', async () => {
  const path = join(dir, 'corrupt.sqlite')
  writeFileSync(path, Buffer.alloc(8192, 0x5a))
  await assert.rejects(openStore(path), (err: unknown) => err instanceof StoreError && /cannot open the SQLite store/.test(err.message))
})

test('an unreachable PostgreSQL is a clear StoreError without the password', async () => {
  await assert.rejects(openStore('postgres://u:secret-pw@127.0.0.1:1/db'), (err: unknown) =>
    err instanceof StoreError && /cannot connect/.test(err.message) && !err.message.includes('secret-pw'))
})

test('the SQLite store and its journal files are readable by their owner only, even a file made by a looser umask', async () => {
  const path = join(dir, 'private.sqlite')
  writeFileSync(path, '')
  chmodSync(path, 0o644)
  const store = await openStore(path)
  await store.policies.set({ resource: 'echo', expression: '(= subject.x "1")', updatedAt: 1 })
  for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) assert.equal(statSync(f).mode & 0o777, 0o600, f)
  assert.ok(existsSync(`${path}-wal`), 'the write went through the WAL file, whose mode was checked')
  await store.close()
})
