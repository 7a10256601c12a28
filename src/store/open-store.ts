import { PostgresDb } from './postgres-db.js'
import { SqliteDb } from './sqlite-db.js'
import { SqlStore } from './sql-store.js'
import { MIGRATIONS, type Migration } from './migrations.js'
import { StoreError, type Store } from './store.js'

/** Chooses the store when no `--store` is given. */
export const STORE_ENV = 'PORTICO_STORE'

/**
 * `postgres://…` or `postgresql://…` opens PostgreSQL; `sqlite:PATH`, a bare path or
 * `sqlite::memory:` opens SQLite. Missing migrations are applied (tests name fewer, to make a store
 * as an earlier release left it).
 */
export async function openStore(url: string, migrations: readonly Migration[] = MIGRATIONS): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(url)) return SqlStore.open(await PostgresDb.connect(url), migrations)
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url
  if (path === '') throw new StoreError('the store URL names no SQLite file')
  return SqlStore.open(new SqliteDb(path), migrations)
}
