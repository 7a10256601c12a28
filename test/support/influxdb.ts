import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'node:https'
import { freePort } from './postgres.js'
import { startWithAttempts } from './start-attempts.js'
import { selfSignedCertificate } from './tls.js'

/** A real InfluxDB 1.x (Debian's influxd) on loopback with auth enabled, started by a test. */
export interface InfluxServer {
  port: number
  address: string
  url: string
  admin: { username: string; password: string }
  /** PEM of the self-signed certificate when started with TLS. */
  certificate?: Buffer
  dir: string
  process: ChildProcess
  query(q: string, options?: { db?: string; username?: string; password?: string; method?: 'GET' | 'POST' }): Promise<{ status: number; body: string }>
  stop(): Promise<void>
  /** SIGKILL, as a crash: its data stays for `restart`. */
  kill(): Promise<void>
  /** Starts it again on the same port and data (for recovery tests). */
  restart(): Promise<void>
}

export interface InfluxOptions {
  tls?: boolean
  sharedSecret?: string
}

const STDERR_TAIL_CHARS = 4000

export async function startInflux(options: InfluxOptions = {}): Promise<InfluxServer> {
  return startWithAttempts('InfluxDB', () => startOnce(options))
}

async function startOnce(options: InfluxOptions): Promise<InfluxServer> {
  const dir = mkdtempSync(join(tmpdir(), 'portico-influx-'))
  const port = await freePort()
  const rpc = await freePort()
  const tls = options.tls === true ? selfSignedCertificate(dir) : undefined
  const certificate = tls?.cert
  const config = join(dir, 'influxdb.conf')
  writeFileSync(config, [
    'reporting-disabled = true', `bind-address = "127.0.0.1:${rpc}"`,
    '[meta]', `  dir = "${join(dir, 'meta')}"`,
    '[data]', `  dir = "${join(dir, 'data')}"`, `  wal-dir = "${join(dir, 'wal')}"`, '  query-log-enabled = false',
    '[http]', '  enabled = true', `  bind-address = "127.0.0.1:${port}"`, '  auth-enabled = true', '  log-enabled = false',
    ...(tls !== undefined ? ['  https-enabled = true', `  https-certificate = "${tls.certFile}"`, `  https-private-key = "${tls.keyFile}"`] : []),
    ...(options.sharedSecret !== undefined ? [`  shared-secret = "${options.sharedSecret}"`] : []),
    '[logging]', '  level = "warn"', ''
  ].join('\n'))
  const scheme = options.tls === true ? 'https' : 'http'
  const agent = new Agent({ ...(certificate !== undefined ? { ca: certificate } : {}) })
  const admin = { username: 'admin', password: 'admin-password-for-tests' }
  // No process yet when the spawn itself is what failed.
  const running = (): boolean => {
    const child = server.process as ChildProcess | undefined
    return child !== undefined && child.exitCode === null && child.signalCode === null
  }
  const stopProcess = async (): Promise<void> => {
    if (!running()) return
    const exited = once(server.process, 'exit')
    server.process.kill('SIGTERM')
    await exited
  }
  const server: InfluxServer = {
    port, address: `127.0.0.1:${port}`, url: `${scheme}://127.0.0.1:${port}`, admin, dir,
    ...(certificate !== undefined ? { certificate } : {}),
    process: undefined as unknown as ChildProcess,
    async query(q, o = {}) {
      const params = new URLSearchParams({ q, ...(o.db !== undefined ? { db: o.db } : {}) })
      const auth = o.username !== undefined ? `Basic ${Buffer.from(`${o.username}:${o.password ?? ''}`).toString('base64')}` : undefined
      return httpRequest(`${server.url}/query?${params.toString()}`, o.method ?? 'POST', auth, scheme === 'https' ? agent : undefined)
    },
    async stop() {
      await stopProcess()
      rmSync(dir, { recursive: true, force: true })
    },
    async kill() {
      if (!running()) return
      const exited = once(server.process, 'exit')
      server.process.kill('SIGKILL')
      await exited
    },
    async restart() {
      await launch()
    }
  }
  const launch = async (): Promise<void> => {
    server.process = spawn('influxd', ['run', '-config', config], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    server.process.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-STDERR_TAIL_CHARS) })
    for (let i = 0; i < 200; i++) {
      // Exited first: a /ping answered then would come from whichever server holds the port now.
      if (!running()) throw new Error(`influxd exited: ${stderr}`)
      try {
        const r = await httpRequest(`${server.url}/ping`, 'GET', undefined, scheme === 'https' ? agent : undefined)
        if (r.status === 204 && running()) return
      } catch { /* not yet */ }
      await sleep(25)
    }
    throw new Error(`influxd did not start: ${stderr}`)
  }
  try {
    await launch()
    // With auth on and no users, InfluxDB accepts exactly one thing: creating the first admin.
    const created = await server.query(`CREATE USER ${admin.username} WITH PASSWORD '${admin.password}' WITH ALL PRIVILEGES`)
    if (created.status !== 200) throw new Error(`cannot create the InfluxDB admin: ${created.body}`)
  } catch (err) {
    await stopProcess()
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return server
}

async function httpRequest(url: string, method: string, authorization: string | undefined, agent: Agent | undefined): Promise<{ status: number; body: string }> {
  if (agent === undefined) {
    const r = await fetch(url, { method, ...(authorization !== undefined ? { headers: { authorization } } : {}) })
    return { status: r.status, body: await r.text() }
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, ...(authorization !== undefined ? { headers: { authorization } } : {}) }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
    })
    req.on('error', reject)
    req.end()
  })
}
