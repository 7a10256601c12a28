import pg from 'pg'
import type { Row, SqlDb, SqlExecutor, SqlValue } from './sql-db.js'
import { StoreError } from './store.js'

export const POSTGRES_POOL_SIZE = 10
export const POSTGRES_CONNECT_TIMEOUT_MS = 10_000

/** `?` placeholders become `$1, $2, …`; the repositories never put `?` inside SQL literals. */
function numbered(sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

function executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    async all(sql, params = []) {
      return (await client.query(numbered(sql), params as SqlValue[])).rows as Row[]
    },
    async run(sql, params = []) {
      return (await client.query(numbered(sql), params as SqlValue[])).rowCount ?? 0
    }
  }
}

export class PostgresDb implements SqlDb {
  readonly dialect = 'postgres'
  private readonly pool: pg.Pool
  private readonly exec: SqlExecutor

  private constructor(pool: pg.Pool) {
    this.pool = pool
    this.exec = executor(pool)
  }

  /** Connects once up front so that a wrong URL fails at start-up with a clear message. */
  static async connect(url: string): Promise<PostgresDb> {
    const pool = new pg.Pool({ connectionString: url, max: POSTGRES_POOL_SIZE, connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS })
    // An idle client's error (the server restarting) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined)
    try {
      await pool.query('SELECT 1')
    } catch (err) {
      await pool.end()
      throw new StoreError(`cannot connect to the PostgreSQL store ${redactUrl(url)}: ${(err as Error).message}`, { cause: err })
    }
    return new PostgresDb(pool)
  }

  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.exec.all(sql, params)
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.exec.run(sql, params)
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect()
    // A connection whose ROLLBACK failed (the server went away) is broken: it is closed, not pooled.
    let broken = false
    try {
      await client.query('BEGIN')
      const result = await fn(executor(client))
      await client.query('COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch(() => { broken = true })
      throw err
    } finally {
      client.release(broken)
    }
  }

  async sizeBytes(): Promise<number> {
    const rows = await this.all('SELECT pg_database_size(current_database()) AS size')
    return Number(rows[0]?.size ?? 0)
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}

/** A connection URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return '(unparseable URL)'
  }
}
