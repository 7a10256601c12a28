export type SqlValue = string | number | bigint | null
export type Row = Record<string, unknown>

/** What the repositories need of a database; SQL uses `?` placeholders in both dialects. */
export interface SqlExecutor {
  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]>
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>
}

export interface SqlDb extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres'
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>
  sizeBytes(): Promise<number>
  close(): Promise<void>
}

/** Serializes async sections; SQLite has one connection, so transactions must not interleave. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve()

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail
    let release!: () => void
    this.tail = new Promise((r) => { release = r })
    await previous
    try {
      return await fn()
    } finally {
      release()
    }
  }
}
