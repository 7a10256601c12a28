// npm run bench:fleet — the scale one relay and one outlet carry: a fleet of enrolled devices, each
// with its own identity, secure channel, InfluxDB inlet and lease (simulated a few processes to fit
// two CPUs), each writing a small batch every 10 s through one relay to one outlet in front of a
// real InfluxDB 1.6.7. At each size: the relay's and the outlet's RSS and CPU, write latency,
// failed writes, and leases issued per second (v1 as the devices came online; the v2
// contract-checked emulator, behind a second outlet of the same node, for every device at once).
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { setPriority } from 'node:os'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startInflux } from '../test/support/influxdb.js'
import { startV2Emulator } from '../test/support/influx-v2-emulator.js'
import { freePort } from '../test/support/postgres.js'
import { cpuSeconds, nodePid, rssBytes } from '../test/support/processes.js'
import { cleanUpOnce } from './lib/interrupt.js'
import { readIfExists } from './lib/system-files.js'
import { EVENT_LOOP_SAMPLE_MS } from '../src/node/metrics.js'
import { benchHome } from './lib/portico-cli.js'
import { fmt, percentile, report } from './lib/report.js'
import { DEVICE_BATCH_POINTS } from './lib/fleet-device.js'
import { WRITE_EVERY_MS, type FleetAnswer, type FleetRequest, type Samples } from './lib/fleet-worker.js'

const LEVELS = (process.env.BENCH_FLEET_LEVELS ?? '1000,5000,10000').split(',').map(Number)
const PROCESSES = Number(process.env.BENCH_FLEET_PROCESSES ?? 4)
const WINDOW_S = Number(process.env.BENCH_FLEET_WINDOW_S ?? 30)
/**
 * How long each size may take to come online. On InfluxDB 1.x every lease is a user, created more
 * slowly as users accumulate, and an overloaded machine may not get there at all: the size is then
 * measured with the devices that did, and the row says how many.
 */
const GROW_MINUTES = Number(process.env.BENCH_FLEET_GROW_MINUTES ?? 15)
/** How long the new devices of a size may take to obtain their v2 leases (each is counted as issued or failed). */
const V2_LEASE_MINUTES = 3
const RELAY_RSS_GOAL_BYTES = 1024 ** 3
const P99_GOAL_MS = 50
const MIB = 1024 * 1024
const LARGEST = Math.max(...LEVELS)
/**
 * The devices would run on machines of their own; here they share two CPUs with the nodes being
 * measured, so they run at a lower priority and take what the relay, the outlet and InfluxDB leave.
 */
const DEVICE_NICENESS = 10
const { home, portico } = benchHome('portico-bench-fleet-')
/** pino's level number for warnings. */
const WARN = 40
/** Warnings listed per source in each report, the most frequent first. */
const HEALTH_MESSAGES = 6
const deviceLog = (dir: string, i: number): string => join(dir, `devices-${i}.log`)

/** A device process and its one request in flight at a time. */
class Fleet {
  private readonly exited: Promise<never>

  private constructor(private readonly child: ChildProcess) {
    this.exited = once(child, 'exit').then(([code]) => { throw new Error(`a device process exited (${String(code)})`) })
    this.exited.catch(() => undefined)
  }

  static async start(init: FleetRequest): Promise<Fleet> {
    const child = fork(new URL('./lib/fleet-worker.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    if (child.pid !== undefined) setPriority(child.pid, DEVICE_NICENESS)
    const f = new Fleet(child)
    await f.ask(init)
    return f
  }

  get pid(): number { return this.child.pid ?? 0 }

  async ask(m: FleetRequest): Promise<FleetAnswer> {
    const answer = once(this.child, 'message') as Promise<[FleetAnswer]>
    this.child.send(m)
    const [a] = await Promise.race([answer, this.exited])
    if (a.op === 'error') throw new Error(`a device process failed: ${a.message}`)
    return a
  }

  kill(): void { this.child.kill('SIGKILL') }
}

/** `count` devices from index `from`, spread over the processes; each process gets a contiguous range. */
function spread(from: number, count: number, processes: number): { from: number; count: number }[] {
  const share = Math.ceil(count / processes)
  return Array.from({ length: processes }, (_, i) => ({ from: from + i * share, count: Math.max(0, Math.min(share, count - i * share)) }))
}

const merge = (into: Record<string, number>, from: Record<string, number>): void => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v
}

async function main(): Promise<void> {
  const secret = 'bench-fleet-shared-secret'
  const influx = await startInflux({ sharedSecret: secret })
  const v2 = await startV2Emulator({ buckets: ['fleet'] })
  const fleets: Fleet[] = []
  const cleanUp = cleanUpOnce(async () => {
    await Promise.all(fleets.map(async (f) => f.ask({ op: 'stop' }).catch(() => undefined).finally(() => f.kill())))
    for (const n of ['outlet', 'authority']) await portico('node', 'delete', n).catch(() => undefined)
    await influx.stop()
    await v2.close()
    rmSync(home, { recursive: true, force: true })
  })
  try {
    await influx.query('CREATE DATABASE fleet', { username: influx.admin.username, password: influx.admin.password, method: 'POST' })
    const port = await freePort()
    await portico('identity', 'create', 'admin')
    const statusPorts = { relay: await freePort(), outlet: await freePort() }
    await portico('authority', 'create', '--tcp-listener-address', `127.0.0.1:${port}`, '--http-server-port', String(statusPorts.relay))
    await portico('identity', 'create', 'outlet')
    await portico('enroll', await portico('ticket', 'create', '--attribute', 'influxdb-outlet=true', '--relay', 'influxdb'), '--identity', 'outlet')
    // Room for every device's lease (a renewed one overlaps its successor) and for one kept-alive
    // database connection per device.
    const caps = { 'max-leases': LARGEST * 3, 'max-connections': LARGEST * 3 / 2, allow: 'influxdb-inlet', 'leased-token-expires-in': '1h' }
    writeFileSync(join(home, 'outlet.json'), JSON.stringify({
      relay: 'influxdb',
      'influxdb-outlet': [
        { ...caps, from: 'influx', to: influx.address, api: 'v1', 'admin-username': influx.admin.username, 'admin-password': influx.admin.password, 'shared-secret': secret, 'leased-token-permissions': [{ action: 'write', resource: { type: 'buckets', name: 'fleet' } }] },
        { ...caps, from: 'influx-v2', to: v2.address, api: 'v2', 'org-id': v2.orgId, 'all-access-token': v2.allAccessToken, 'leased-token-permissions': [{ action: 'write', resource: { type: 'buckets', name: 'fleet' } }] }
      ]
    }))
    await portico('node', 'create', 'outlet', '--identity', 'outlet', '--config', join(home, 'outlet.json'), '--http-server-port', String(statusPorts.outlet))
    const ticket = await portico('ticket', 'create', '--attribute', 'influxdb-inlet=true', '--usage-count', String(LARGEST), '--expires-in', '2h')
    const project = JSON.parse(await portico('project', 'export')) as unknown
    for (let i = 0; i < PROCESSES; i++) fleets.push(await Fleet.start({ op: 'init', project, ticket, relay: 'influxdb', outlet: 'influx', log: deviceLog(home, i) }))
    const pids = { relay: nodePid(home, 'authority'), outlet: nodePid(home, 'outlet'), influxd: influx.process.pid ?? 0 }
    const rows: Record<string, string | number>[] = []
    const failures: Record<string, number> = {}
    let failedWrites = 0
    let writes = 0
    let previous = 0
    let online = 0
    for (const level of LEVELS) {
      // The new devices come online: enrollment, credential, channel through the relay, v1 lease.
      const t0 = performance.now()
      const grown = await Promise.all(spread(previous, level - previous, PROCESSES).map(async (r, i) => r.count === 0 ? undefined : fleets[i]?.ask({ op: 'grow', ...r, deadlineMs: GROW_MINUTES * 60_000 })))
      const onlineSeconds = (performance.now() - t0) / 1000
      const started = grown.reduce((n, a) => n + (a?.op === 'grown' ? a.started : 0), 0)
      for (const a of grown) if (a?.op === 'grown') merge(failures, a.failures)
      online += started
      const leaseRetries = grown.reduce((n, a) => n + (a?.op === 'grown' ? a.leaseRetries : 0), 0)
      const added = level - previous
      // One write period for every new device to have written; then the measured window.
      await sleep(WRITE_EVERY_MS)
      const before = await collect(fleets)
      failedWrites += before.failed
      writes += before.latencies.length + before.failed
      merge(failures, before.reasons)
      const cpu0 = Object.values(pids).map(cpuSeconds)
      await Promise.all(Object.values(statusPorts).map(loopDelayMaxMs))
      const w0 = performance.now()
      await sleep(WINDOW_S * 1000)
      const window = await collect(fleets)
      const nodeDelay = { relay: await loopDelayMaxMs(statusPorts.relay), outlet: await loopDelayMaxMs(statusPorts.outlet) }
      const seconds = (performance.now() - w0) / 1000
      const cpu = Object.fromEntries(Object.keys(pids).map((k, i) => [k, (cpuSeconds(Object.values(pids)[i] ?? 0) - (cpu0[i] ?? 0)) / seconds * 100]))
      failedWrites += window.failed
      writes += window.latencies.length + window.failed
      merge(failures, window.reasons)
      const latencies = window.latencies.sort((a, b) => a - b)
      // Every device at once asks the second outlet (the v2 emulator) for a lease, over the channel it holds.
      const l0 = performance.now()
      const leased = await Promise.all(spread(previous, added, PROCESSES).map(async (r, i) => r.count === 0 ? undefined : fleets[i]?.ask({ op: 'lease-from', outlet: 'influx-v2', ...r, deadlineMs: V2_LEASE_MINUTES * 60_000 })))
      const v2Seconds = (performance.now() - l0) / 1000
      const v2Issued = leased.reduce((n, a) => n + (a?.op === 'leased' ? a.issued : 0), 0)
      for (const a of leased) if (a?.op === 'leased') merge(failures, a.failures)
      rows.push({
        devices: level, online, 'came online/s (enroll, channel, v1 lease)': fmt(started / onlineSeconds, 1), 'v1 lease requests retried': leaseRetries,
        'v2 leases/s': fmt(v2Issued / v2Seconds, 1), 'writes/s': fmt(latencies.length / seconds, 1), 'failed writes': before.failed + window.failed,
        'p50 ms': fmt(percentile(latencies, 50), 2), 'p99 ms': fmt(percentile(latencies, 99), 2), 'max ms': fmt(latencies.at(-1) ?? NaN, 2),
        'relay RSS MiB': fmt(rssBytes(pids.relay) / MIB, 1), 'relay CPU %': fmt(cpu.relay ?? NaN, 1),
        'outlet RSS MiB': fmt(rssBytes(pids.outlet) / MIB, 1), 'outlet CPU %': fmt(cpu.outlet ?? NaN, 1), 'influxd CPU %': fmt(cpu.influxd ?? NaN, 1),
        'device processes RSS MiB': fmt(fleets.reduce((n, f) => n + rssBytes(f.pid), 0) / MIB, 1),
        'longest event loop delay ms: relay': fmt(nodeDelay.relay, 1), outlet: fmt(nodeDelay.outlet, 1), 'device processes': fmt(window.loopDelayMaxMs, 1)
      })
      previous = level
      // Each size as soon as it is measured: a larger one may take long, or fail.
      report('fleet-level', [rows.at(-1) ?? {}], { health: health(home), failures: { ...failures } })
    }
    const last = rows.at(-1) ?? {}
    report('fleet', rows, {
      health: health(home),
      writeEveryMs: WRITE_EVERY_MS, batchPoints: DEVICE_BATCH_POINTS, windowSeconds: WINDOW_S, deviceProcesses: PROCESSES,
      totals: { writes, failedWrites, failures },
      goals: {
        'no failed write': { value: failedWrites, met: failedWrites === 0 },
        [`relay RSS at ${LARGEST} <= 1 GiB`]: { value: last['relay RSS MiB'] ?? null, met: Number(last['relay RSS MiB']) * MIB <= RELAY_RSS_GOAL_BYTES },
        [`p99 write latency at ${LARGEST} <= ${P99_GOAL_MS} ms`]: { value: last['p99 ms'] ?? null, met: Number(last['p99 ms']) <= P99_GOAL_MS }
      }
    })
  } finally {
    await cleanUp()
  }
}

/**
 * What the logs of the relay, the outlet and the device processes say went wrong so far: each
 * warning counted (the most frequent first), and when each first heard a channel go silent, which
 * tells who stopped answering first.
 */
function health(dir: string): Record<string, Record<string, number | string>> {
  const sources: Record<string, string[]> = {
    relay: [join(dir, 'nodes', 'authority', 'node.log')],
    outlet: [join(dir, 'nodes', 'outlet', 'node.log')],
    devices: Array.from({ length: PROCESSES }, (_, i) => deviceLog(dir, i))
  }
  return Object.fromEntries(Object.entries(sources).map(([name, files]) => {
    const counts: Record<string, number> = {}
    let firstSilence: string | undefined
    for (const line of files.flatMap((f) => (readIfExists(f) ?? '').split('\n'))) {
      const entry = logEntry(line)
      if (entry === undefined) continue
      const { level, msg, time } = entry
      if (level < WARN) continue
      counts[msg] = (counts[msg] ?? 0) + 1
      if (msg === 'the peer of a secure channel went silent' && (firstSilence === undefined || time < firstSilence)) firstSilence = time
    }
    const top = Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, HEALTH_MESSAGES)
    return [name, { 'first channel gone silent at': firstSilence ?? 'never', ...Object.fromEntries(top) }]
  }))
}

/** One line of a pino log, or undefined: the processes write their logs as the report reads them, so a last line may be cut. */
function logEntry(line: string): { level: number; msg: string; time: string } | undefined {
  try {
    return JSON.parse(line) as { level: number; msg: string; time: string }
  } catch {
    return undefined
  }
}

/**
 * The longest a node's event loop was held up since the last time it was asked (its /metrics,
 * whose histogram starts again at each scrape), in ms, less the sampling tick the histogram also
 * counts; NaN when the node does not answer.
 */
async function loopDelayMaxMs(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
    const m = /^portico_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)
    return m?.[1] === undefined ? NaN : Math.max(0, Number(m[1]) * 1000 - EVENT_LOOP_SAMPLE_MS)
  } catch {
    return NaN
  }
}

async function collect(fleets: Fleet[]): Promise<Samples> {
  const all: Samples = { latencies: [], failed: 0, reasons: {}, loopDelayMaxMs: 0 }
  for (const f of fleets) {
    const a = await f.ask({ op: 'collect' })
    if (a.op !== 'samples') continue
    all.latencies.push(...a.samples.latencies)
    all.failed += a.samples.failed
    all.loopDelayMaxMs = Math.max(all.loopDelayMaxMs, a.samples.loopDelayMaxMs)
    merge(all.reasons, a.samples.reasons)
  }
  return all
}

await main()
process.exit(0)
