import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, ok, type Cli } from './cli.js'
import { freePort, startPostgres, type PostgresServer } from './postgres.js'
import { startInflux, type InfluxServer } from './influxdb.js'
import { killNode, writesAgain } from './node-processes.js'
import { FaultProxy, type FaultMode } from './fault-proxy.js'
import { echoServer, roundTrip, type Target } from './tcp-servers.js'

// The InfluxDB path as real processes, for the fault suite and bench:faults: a real InfluxDB 1.6.7
// (auth, JWT shared secret), a project node on a fixed port, an outlet node (relay + influxdb
// outlet) and a device node with an influxdb inlet. Each crash kills one of them with SIGKILL and
// starts it again with `node start NAME`, from the launch record its create command left. The device and the outlet reach the
// project node (their relay) through a fault proxy each, whose path a network fault breaks: it
// goes silent (blackhole), is reset, or is slow, and then is well again.

const SECRET = 'fault-suite-shared-secret-0123456789'

export type Fault = 'outlet' | 'project node' | 'device' | 'influxdb' | 'postgresql'
export const FAULTS: readonly Fault[] = ['outlet', 'project node', 'device', 'influxdb', 'postgresql']

export type Path = 'device path' | 'outlet path'
export type NetworkFault = 'blackhole' | 'reset'
export const NETWORK_FAULTS: readonly [Path, NetworkFault][] = [['device path', 'blackhole'], ['outlet path', 'blackhole'], ['device path', 'reset'], ['outlet path', 'reset']]

export interface NetworkFaultFigures {
  /** ms from the fault until the node on that path said, on /readyz, that it is cut off (a blackhole only). */
  detectedMs?: number
  /** Why /readyz said it was not ready. */
  reasons?: string[]
  /** ms from the path being well again until the first write stored. */
  recoveredMs: number
  /** The same until a byte echoed through the tcp portal again. */
  tcpRecoveredMs: number
  /** The same through the tcp portal whose channel runs inside another channel. */
  nestedRecoveredMs: number
}

/**
 * After a crash: ms from the restart until a write is stored again, and until the tcp portal
 * echoes again; for PostgreSQL (the outlet's store), also until a new lease is issued again.
 */
export interface CrashFigures {
  influxMs: number
  tcpMs: number
  /** Through a tcp-inlet whose secure channel to the outlet runs inside another one to the outlet, across the relay. */
  nestedMs: number
  leaseMs?: number
}

export interface FaultDeployment {
  portico: Cli
  inletPort: number
  proxies: Record<Path, FaultProxy>
  /** Kills the process of `fault` and starts it again; times the recovery of both portals. */
  crash(fault: Fault): Promise<CrashFigures>
  /** Breaks `path` as `fault` says, waits for the node on it to notice (a blackhole), heals it, and times the recovery. */
  breakPath(path: Path, fault: NetworkFault): Promise<NetworkFaultFigures>
  /** /readyz of the device or the outlet node. */
  readiness(node: 'device' | 'outlet'): Promise<{ status: number; reasons: string[] }>
  setPath(path: Path, mode: FaultMode): void
  stop(): Promise<void>
}

/** Starts the deployment; if any step fails, what was started is stopped again, so a failed start leaves nothing running. */
export async function startFaultDeployment(prefix = 'portico-faults-'): Promise<FaultDeployment> {
  const cleanups: (() => unknown)[] = []
  try {
    return await build(prefix, cleanups)
  } catch (err) {
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => undefined)
    throw err
  }
}

async function build(prefix: string, cleanups: (() => unknown)[]): Promise<FaultDeployment> {
  const portico = cli(prefix)
  const influx: InfluxServer = await startInflux({ sharedSecret: SECRET })
  cleanups.push(() => influx.stop())
  await influx.query('CREATE DATABASE "device"', { username: influx.admin.username, password: influx.admin.password })
  const [projectPort, inletPort, tcpPort, nestedPort, deviceHttp, outletHttp] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()])
  // A channel inside a channel: the route opens one to the outlet's listener across the relay, then a second one through it.
  const nestedRoute = '/project/device-path/service/forward_to_influxdb/secure/api/secure/api/service/tcp-echo'
  const echo: Target = await echoServer()
  cleanups.push(() => echo.close())
  // The outlet keeps its leases in PostgreSQL, so a crash of the database of record is one of the faults.
  const postgres: PostgresServer = await startPostgres()
  cleanups.push(() => postgres.stop())
  const store = await postgres.createDatabase('outlet')
  const start: Record<Exclude<Fault, 'influxdb' | 'postgresql'>, () => Promise<string>> = {
    'project node': () => ok(portico, 'authority', 'create', '--tcp-listener-address', `127.0.0.1:${projectPort}`),
    outlet: () => ok(portico, 'node', 'create', 'outlet', '--identity', 'outlet', '--project', 'outlet-path', '--http-server-port', String(outletHttp), '--store', store, '--config', join(portico.home, 'outlet.json')),
    device: () => ok(portico, 'node', 'create', 'device', '--identity', 'device', '--project', 'device-path', '--http-server-port', String(deviceHttp),
      '--configuration', `{influxdb-inlet: {from: ${inletPort}, via: influxdb, allow: influxdb-outlet}, tcp-inlet: [{from: ${tcpPort}, via: influxdb, outlet: tcp-echo, allow: influxdb-outlet}, {from: ${nestedPort}, to: '${nestedRoute}', allow: influxdb-outlet}]}`)
  }
  await ok(portico, 'identity', 'create', 'admin')
  cleanups.push(() => Promise.all(['device', 'outlet', 'authority'].map((n) => portico('node', 'delete', n))))
  await start['project node']()
  // The same project, reached through a proxy: one for the device's path, one for the outlet's.
  const proxies: Record<Path, FaultProxy> = { 'device path': await FaultProxy.start(`127.0.0.1:${projectPort}`), 'outlet path': await FaultProxy.start(`127.0.0.1:${projectPort}`) }
  cleanups.push(() => Promise.all(Object.values(proxies).map((p) => p.close())))
  const projectName = readFileSync(join(portico.home, 'default-project'), 'utf8').trim()
  const projectFile = JSON.parse(readFileSync(join(portico.home, 'projects', `${projectName}.json`), 'utf8')) as { name: string; route: string }
  for (const [name, path] of [['device-path', 'device path'], ['outlet-path', 'outlet path']] as const) {
    const route = projectFile.route.replace(/\/tcp\/\d+/, `/tcp/${proxies[path].port}`)
    writeFileSync(join(portico.home, 'projects', `${name}.json`), JSON.stringify({ ...projectFile, name, route }))
  }
  for (const [name, attrs] of [['outlet', ['--attribute', 'influxdb-outlet=true', '--relay', 'influxdb']], ['device', ['--attribute', 'influxdb-inlet=true', '--attribute', 'bucket=device']]] as const) {
    await ok(portico, 'identity', 'create', name)
    await ok(portico, 'enroll', await ok(portico, 'ticket', 'create', ...attrs), '--identity', name)
  }
  writeFileSync(join(portico.home, 'outlet.json'), JSON.stringify({
    relay: 'influxdb',
    'tcp-outlet': { to: echo.address, from: 'tcp-echo', allow: 'influxdb-inlet' },
    'influxdb-outlet': {
      to: influx.address, api: 'v1', allow: 'influxdb-inlet', 'admin-username': '$INFLUX_ADMIN', 'admin-password': '$INFLUX_PASSWORD', 'shared-secret': '$INFLUX_SECRET',
      'leased-token-expires-in': '1h', 'leased-token-permissions': [{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]
    }
  }))
  Object.assign(portico.env, { INFLUX_ADMIN: influx.admin.username, INFLUX_PASSWORD: influx.admin.password, INFLUX_SECRET: SECRET })
  await start.outlet()
  await start.device()
  await writesAgain(inletPort, 'device', Date.now())
  await echoesAgain(tcpPort, Date.now())
  await echoesAgain(nestedPort, Date.now())
  const recovery = async (since: number): Promise<CrashFigures> => {
    const [influxMs, tcpMs, nestedMs] = await Promise.all([writesAgain(inletPort, 'device', since), echoesAgain(tcpPort, since), echoesAgain(nestedPort, since)])
    return { influxMs, tcpMs, nestedMs }
  }
  const nodeOf: Record<Exclude<Fault, 'influxdb' | 'postgresql'>, string> = { outlet: 'outlet', 'project node': 'authority', device: 'device' }
  const readiness = async (node: 'device' | 'outlet'): Promise<{ status: number; reasons: string[] }> => {
    const r = await fetch(`http://127.0.0.1:${node === 'device' ? deviceHttp : outletHttp}/readyz`, { signal: AbortSignal.timeout(5000) })
    return { status: r.status, reasons: ((await r.json()) as { reasons?: string[] }).reasons ?? [] }
  }
  return {
    portico, inletPort, proxies, readiness,
    setPath(path, mode) {
      proxies[path].set(mode)
    },
    async breakPath(path, fault) {
      const t0 = Date.now()
      const figures: Partial<NetworkFaultFigures> = {}
      proxies[path].set({ kind: fault })
      if (fault === 'blackhole') {
        const node = path === 'device path' ? 'device' : 'outlet'
        for (;;) {
          const r = await readiness(node)
          if (r.status !== 200) {
            figures.detectedMs = Date.now() - t0
            figures.reasons = r.reasons
            break
          }
          if (Date.now() - t0 > 60_000) throw new Error(`the ${node} did not notice its silent path within 60 s`)
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
      const healed = Date.now()
      proxies[path].set({ kind: 'pass' })
      const r = await recovery(healed)
      return { ...figures, recoveredMs: r.influxMs, tcpRecoveredMs: r.tcpMs, nestedRecoveredMs: r.nestedMs }
    },
    async crash(fault) {
      if (fault === 'influxdb') {
        await influx.kill()
        await influx.restart()
      } else if (fault === 'postgresql') {
        const before = await leaseIds(portico)
        await postgres.kill()
        await postgres.restart()
        const since = Date.now()
        const [figures, leaseMs] = await Promise.all([recovery(since), leaseAgain(portico, since)])
        // No lease record lost: every lease the device held is still on record (or expired since).
        const after = new Set(await leaseIds(portico))
        const lost = before.filter((id) => !after.has(id))
        if (lost.length > 0) throw new Error(`lease records lost in the PostgreSQL crash: ${lost.join(', ')}`)
        return { ...figures, leaseMs }
      } else {
        await killNode(portico, nodeOf[fault])
        // Started again as a service manager would: `node start`, from what `create` recorded.
        await ok(portico, 'node', 'start', nodeOf[fault])
      }
      return recovery(Date.now())
    },
    async stop() {
      for (const n of ['device', 'outlet', 'authority']) await portico('node', process.env.PORTICO_TEST_KEEP === '1' ? 'stop' : 'delete', n)
      await Promise.all(Object.values(proxies).map((p) => p.close()))
      await echo.close()
      postgres.stop()
      await influx.stop()
    }
  }
}

/** Echoes a few bytes through a tcp inlet every 200 ms until they come back; returns ms since `since`. */
async function echoesAgain(port: number, since: number, timeoutMs = 60_000): Promise<number> {
  for (;;) {
    if (Date.now() - since > timeoutMs) throw new Error(`the tcp portal did not echo again within ${timeoutMs} ms`)
    const sent = `ping ${Date.now()}`
    const back = await Promise.race([
      roundTrip(`127.0.0.1:${port}`, Buffer.from(sent)).then((b) => b.toString(), () => undefined),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000))
    ])
    if (back === sent) return Date.now() - since
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

const LEASE_ARGS = ['--via', 'influxdb', '--identity', 'device', '--project', 'device-path', '--output', 'json']

async function leaseIds(c: Cli): Promise<string[]> {
  return (JSON.parse(await ok(c, 'lease', 'list', ...LEASE_ARGS)) as { id: string }[]).map((l) => l.id)
}

/** Asks for a new lease (then revokes it) every 200 ms until one is issued; returns ms since `since`. */
async function leaseAgain(c: Cli, since: number, timeoutMs = 60_000): Promise<number> {
  for (;;) {
    if (Date.now() - since > timeoutMs) throw new Error(`no lease was issued within ${timeoutMs} ms`)
    const r = await c('lease', 'create', ...LEASE_ARGS)
    if (r.code === 0) {
      const ms = Date.now() - since
      await ok(c, 'lease', 'revoke', (JSON.parse(r.stdout) as { id: string }).id, ...LEASE_ARGS)
      return ms
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
