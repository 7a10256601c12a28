import { execFileSync, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, chmodSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { startWithAttempts } from './start-attempts.js'
import { alive } from './node-processes.js'

const FIXED_PORTS_FROM = 20_000
const FIXED_PORTS_COUNT = 12_000

/** A real PostgreSQL server started for a test run, in a throw-away folder. */
export interface PostgresServer {
  /** A URL for a fresh, empty database of its own. */
  createDatabase(name: string): Promise<string>
  /** SIGKILL of the postmaster, as a crash: its backends follow it; waits until all are gone. */
  kill(): Promise<void>
  /** Starts the server again on the same data and port (crash recovery runs first). */
  restart(): Promise<void>
  stop(): void
}

function binDir(): string {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) throw new Error('PostgreSQL is not installed (apt-get install -y postgresql)')
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0]
  if (version === undefined) throw new Error('PostgreSQL is not installed (apt-get install -y postgresql)')
  return join(root, version, 'bin')
}

/**
 * A port free now, for a server a test starts later (and starts again on the same port). It is
 * taken below the kernel's ephemeral range (32768-60999 on Linux), so no outgoing connection of
 * this machine can take it in between, as one did with a port the kernel had handed out.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIXED_PORTS_FROM + Math.floor(Math.random() * FIXED_PORTS_COUNT)
    const server = createServer()
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (bound) {
      await new Promise((r) => server.close(r))
      return port
    }
  }
  throw new Error('no free port found below the ephemeral range')
}

/** Runs a PostgreSQL tool as the `postgres` user when we are root: initdb refuses root. */
function asPostgres(tool: string, args: string[]): void {
  const path = join(binDir(), tool)
  const root = process.getuid?.() === 0
  const result = root ? spawnSync('runuser', ['-u', 'postgres', '--', path, ...args], { encoding: 'utf8' }) : spawnSync(path, args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`${tool} failed: ${result.stderr || result.stdout}`)
}

const LOG_TAIL_CHARS = 2000

export async function startPostgres(): Promise<PostgresServer> {
  return startWithAttempts('PostgreSQL', () => startOnce())
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-LOG_TAIL_CHARS)
  } catch {
    return '(no server log)'
  }
}

async function startOnce(): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'portico-pg-'))
  chmodSync(dir, 0o700)
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  const log = join(dir, 'server.log')
  const stop = (): void => {
    try {
      if (existsSync(join(data, 'postmaster.pid'))) asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  let port = 0
  const start = (): void => asPostgres('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start'])
  try {
    asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
    port = await freePort()
    start()
  } catch (err) {
    const reason = `${err instanceof Error ? err.message : String(err)}\nserver log: ${logTail(log)}`
    try { stop() } catch { /* the reason above is the one worth reporting */ }
    throw new Error(reason, { cause: err })
  }
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`
  return {
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: admin })
      await client.connect()
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}"`)
        await client.query(`CREATE DATABASE "${name}"`)
      } finally {
        await client.end()
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`
    },
    async kill() {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
      const all = [pid, ...children(pid)]
      process.kill(pid, 'SIGKILL')
      // The backends notice their postmaster's death and exit; a new postmaster may start only then.
      for (let i = 0; i < 400 && all.some(alive); i++) await new Promise((r) => setTimeout(r, 25))
    },
    async restart() {
      for (let attempt = 1; ; attempt++) {
        try {
          start()
          return
        } catch (err) {
          if (attempt >= 5) throw new Error(`PostgreSQL did not start again: ${(err as Error).message}\nserver log: ${logTail(log)}`, { cause: err })
          await new Promise((r) => setTimeout(r, 500))
        }
      }
    },
    stop
  }
}

function children(pid: number): number[] {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map(Number)
}

