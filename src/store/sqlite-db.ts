import Database from 'better-sqlite3'
import { chmodSync, closeSync, openSync, statSync } from 'node:fs'
import { Mutex, type Row, type SqlDb, type SqlExecutor, type SqlValue } from './sql-db.js'
import { StoreError } from './store.js'

/** The store file's mode: its owner's only. */
export const STORE_FILE_MODE = 0o600

/** How long a writer waits for another process's lock before failing. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000

/**
 * better-sqlite3 is synchronous; every call goes through one mutex so that an open transaction
 * is never joined by an unrelated statement from another async task.
 */
export class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite'
  private readonly db: Database.Database
  private readonly mutex = new Mutex()
  private readonly statements = new Map<string, Database.Statement>()

  constructor(readonly path: string) {
    try {
      // It holds tickets' digests, members and leases: readable by its owner only. SQLite gives its
      // -wal and -shm files the database file's mode.
      if (path !== ':memory:') closeSync(openSync(path, 'a', STORE_FILE_MODE))
      if (path !== ':memory:' && (statSync(path).mode & 0o777) !== STORE_FILE_MODE) chmodSync(path, STORE_FILE_MODE)
      this.db = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS })
      this.db.pragma('journal_mode = WAL')
      this.db.pragma('foreign_keys = ON')
      // Reading the schema proves the file really is a database; a corrupt file fails here, not later.
      this.db.prepare('SELECT count(*) FROM sqlite_master').get()
    } catch (err) {
      throw new StoreError(`cannot open the SQLite store at ${path}: ${(err as Error).message}`, { cause: err })
    }
  }

  all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.mutex.run(() => this.direct.all(sql, params))
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.mutex.run(() => this.direct.run(sql, params))
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      this.db.exec('BEGIN IMMEDIATE')
      try {
        const result = await fn(this.direct)
        this.db.exec('COMMIT')
        return result
      } catch (err) {
        this.db.exec('ROLLBACK')
        throw err
      }
    })
  }

  sizeBytes(): Promise<number> {
    return this.mutex.run(() => {
      this.db.pragma('wal_checkpoint(TRUNCATE)')
      if (this.path === ':memory:') return Promise.resolve(0)
      let size = statSync(this.path).size
      try {
        size += statSync(`${this.path}-wal`).size
      } catch { /* no WAL file */ }
      return Promise.resolve(size)
    })
  }

  close(): Promise<void> {
    return this.mutex.run(() => {
      this.db.close()
      return Promise.resolve()
    })
  }

  /** Statements with no locking: only used inside the mutex. */
  private readonly direct: SqlExecutor = {
    all: (sql, params = []) => Promise.resolve(this.prepare(sql).all(...params) as Row[]),
    run: (sql, params = []) => Promise.resolve(this.prepare(sql).run(...params).changes)
  }

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql)
    if (s === undefined) {
      s = this.db.prepare(sql)
      this.statements.set(sql, s)
    }
    return s
  }
}
