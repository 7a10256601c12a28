// npm run bench:influx — side by side in one run: points/s written directly to InfluxDB 1.6.7 and
// through a relayed, token-injecting inlet (separate processes); added latency per request; leases
// issued per second (v1 real InfluxDB, v2 and v3 contract-checked emulators); revocation lateness for 10,000 leases.
import { rmSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../test/support/postgres.js'
import { startInflux } from '../test/support/influxdb.js'
import { startV2Emulator } from '../test/support/influx-v2-emulator.js'
import { startV3Emulator } from '../test/support/influx-v3-emulator.js'
import { LeaseManager } from '../src/influxdb/leases/lease-manager.js'
import { V1Backend } from '../src/influxdb/backends/v1-backend.js'
import { V2Backend } from '../src/influxdb/backends/v2-backend.js'
import { V3Backend } from '../src/influxdb/backends/v3-backend.js'
import type { LeaseBackend } from '../src/influxdb/backends/backend.js'
import { openStore } from '../src/store/open-store.js'
import { silentLogger } from '../src/log/logger.js'
import { fmt, percentile, report } from './lib/report.js'
import { cpuSeconds, nodePid } from '../test/support/processes.js'
import { reportHopRoundTrips } from './lib/hop-latency.js'
import { cleanUpOnce } from './lib/interrupt.js'
import { benchInfluxdbOutlet, benchWriter, latencies } from './lib/influx-writes.js'
import { benchHome, benchProject } from './lib/portico-cli.js'
import { BATCH_POINTS, lineProtocolBatch } from './lib/line-protocol.js'
import { cpuBudgets } from './lib/cpu-budget.js'
import { startHopChain, startTcpHopChain, type TcpHopChain } from './lib/tcp-hop-chain.js'
import { startSshBastionChain, type SshBastionChain } from './lib/sshd.js'
import { mkdirSync } from 'node:fs'

const BATCHES = Number(process.env.BENCH_BATCHES ?? 200)
// InfluxDB's own CPU per point swings between runs of the same path (about 1.4 to 2.0 CPU s per
// million points here: its cache snapshots and compactions land in whichever round is running),
// so each path gets enough rounds for its best to be a round that InfluxDB did not slow.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const CONCURRENCY = 4
const PINGS = Number(process.env.BENCH_PINGS ?? 1000)
const LEASES = Number(process.env.BENCH_LEASES ?? 10_000)
/** The relayed path runs through three processes (inlet, relay, outlet): the floor gets as many. */
const FLOOR_HOPS = 3
const { home, portico } = benchHome('portico-bench-influx-')


/** What the writes of a round send: these bodies in turn, with these headers beside the path's own. */
interface Workload { bodies: readonly (string | Buffer)[], headers: Record<string, string> }
const PLAIN: Workload = { bodies: Array.from({ length: 8 }, (_, i) => lineProtocolBatch(i)), headers: {} }
// Compressed once, before any round: what the writers would spend compressing is the client's,
// on both paths alike. Telegraf's influxdb_v2 output and the official v2 client libraries send gzip
// bodies by default: much of a fleet's traffic comes in this form.
const GZIP: Workload = { bodies: PLAIN.bodies.map((b) => gzipSync(b)), headers: { 'content-encoding': 'gzip' } }

async function pointsPerSecond(url: string, pathHeaders: Record<string, string>, workload: Workload): Promise<number> {
  const { bodies } = workload
  const headers = { ...pathHeaders, ...workload.headers }
  let next = 0
  const t = process.hrtime.bigint()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < BATCHES) {
      const n = next++
      const r = await fetch(url, { method: 'POST', body: bodies[n % bodies.length] ?? '', headers })
      if (r.status !== 204) throw new Error(`write failed: ${r.status} ${await r.text()}`)
    }
  }))
  return (BATCHES * BATCH_POINTS) / (Number(process.hrtime.bigint() - t) / 1e9)
}


/** The paths every round writes through, in this order; ratios are taken against the first. */
type Path = readonly [name: string, url: string, headers: Record<string, string>]

const DIRECT = 'direct'
const RELAYED = 'relayed'
const FLOOR = 'floor'
const HTTP_FLOOR = 'http floor'
/** What users would otherwise pick to reach a private database: `ssh -L` through a jump host. */
const SSH = 'ssh bastion'
const SSH_COLUMN = 'ssh -J bastion chain (ssh -L)'
/** Goals against the alternatives (issue: performance against what users would pick instead). */
const SSH_RATE_GOAL = 1.0
const FLOOR_CPU_GOAL = 1.5
const RELAYED_COLUMN = 'relayed inlet (injected lease)'
const FLOOR_COLUMN = `floor: ${FLOOR_HOPS} plain Node TCP hops`
const FLOOR_RATIO_COLUMN = 'floor ratio (median pair)'
const HTTP_FLOOR_COLUMN = `HTTP floor: a plain node:http proxy + ${FLOOR_HOPS - 1} TCP hops`
const HTTP_FLOOR_RATIO_COLUMN = 'HTTP floor ratio (median pair)'

interface Rounds {
  /** The best round of each path, points/s. */
  best: Record<string, number>
  /** CPU seconds per million points, per process, in each path's best round. */
  cpuSecondsPerMillionPoints: Record<string, Record<string, number>>
  perRound: Record<string, unknown>[]
  /** Each path's rate over the direct one's in each round (the paths ran back to back under the same conditions). */
  pairRatios: Record<string, number[]>
}

/** The median of the round pairs' ratios: one burst of load in one round cannot move it, as it can the best rounds. */
const medianPairRatio = (r: Rounds, path: string): number => percentile([...(r.pairRatios[path] ?? [])].sort((a, b) => a - b), 50)

/**
 * Rounds take the paths in turn and each keeps its best, so a shared machine's bursts of load hit
 * all alike. CPU seconds per million points: InfluxDB itself and the processes of each path.
 */
async function rounds(pids: Record<string, number>, paths: readonly Path[], workload: Workload = PLAIN): Promise<Rounds> {
  const result: Rounds = { best: {}, cpuSecondsPerMillionPoints: {}, perRound: [], pairRatios: {} }
  for (let round = 0; round < ROUNDS; round++) {
    const rates: Record<string, number> = {}
    for (const [name, url, headers] of paths) {
      const before = Object.values(pids).map(cpuSeconds)
      const rate = await pointsPerSecond(url, headers, workload)
      const used = Object.values(pids).map((pid, i) => fmt(((cpuSeconds(pid) - (before[i] ?? 0)) * 1e6) / (BATCHES * BATCH_POINTS), 2))
      const cpu = Object.fromEntries(Object.keys(pids).map((k, i) => [k, used[i] ?? NaN]))
      rates[name] = rate
      result.perRound.push({ path: name, 'points/s': fmt(rate, 0), cpuSecondsPerMillionPoints: cpu })
      if (rate > (result.best[name] ?? 0)) {
        result.best[name] = rate
        result.cpuSecondsPerMillionPoints[name] = cpu
      }
    }
    for (const [name] of paths.slice(1)) (result.pairRatios[name] ??= []).push(fmt((rates[name] ?? NaN) / (rates[DIRECT] ?? NaN), 3))
  }
  return result
}

/** A throughput row; rounds that could not run (no cgroups) say so. */
function throughputRow(measure: string, r: Rounds | undefined, goal: string): Record<string, string | number> {
  if (r === undefined) {
    return {
      measure, direct: 'not measured: needs root and a cgroup cpu controller', [RELAYED_COLUMN]: '-', ratio: '-', 'median round-pair ratio': '-', goal: '-',
      [FLOOR_COLUMN]: '-', [FLOOR_RATIO_COLUMN]: '-', [HTTP_FLOOR_COLUMN]: '-', [HTTP_FLOOR_RATIO_COLUMN]: '-'
    }
  }
  const direct = r.best[DIRECT] ?? NaN
  const relayed = r.best[RELAYED] ?? NaN
  const floorRatio = (path: string): string => `${fmt((r.best[path] ?? NaN) / direct)} (${fmt(medianPairRatio(r, path))})`
  return {
    measure, direct: fmt(direct, 0), [RELAYED_COLUMN]: fmt(relayed, 0), ratio: fmt(relayed / direct), 'median round-pair ratio': fmt(medianPairRatio(r, RELAYED)), goal,
    [FLOOR_COLUMN]: fmt(r.best[FLOOR] ?? NaN, 0), [FLOOR_RATIO_COLUMN]: floorRatio(FLOOR),
    [HTTP_FLOOR_COLUMN]: fmt(r.best[HTTP_FLOOR] ?? NaN, 0), [HTTP_FLOOR_RATIO_COLUMN]: floorRatio(HTTP_FLOOR),
    [SSH_COLUMN]: fmt(r.best[SSH] ?? NaN, 0), 'relayed / ssh': fmt(relayed / (r.best[SSH] ?? NaN))
  }
}

/** The gzip bodies' size as a share of the plain ones'. */
const gzipPercent = (): number => {
  const bytes = (w: Workload): number => w.bodies.reduce((sum, b) => sum + Buffer.byteLength(b), 0)
  return fmt((100 * bytes(GZIP)) / bytes(PLAIN), 1)
}

/** The processes of each path besides the writers and InfluxDB: what its hops cost. */
const PATH_PROCESSES: Record<string, readonly string[]> = {
  // Filled in once the chain runs: ssh, its ProxyJump ssh, and both sshd with their children.
  [SSH]: [],
  [DIRECT]: [], [RELAYED]: ['inlet', 'relay', 'outlet'], [FLOOR]: Array.from({ length: FLOOR_HOPS }, (_, i) => `floor hop ${i + 1}`),
  [HTTP_FLOOR]: Array.from({ length: FLOOR_HOPS }, (_, i) => i === 0 ? 'http floor proxy' : `http floor hop ${i + 1}`)
}

/** The ssh chain's processes (after the warm-up opened its connections), named and listed as the path's own. */
function sshProcesses(chain: SshBastionChain): Record<string, number> {
  const pids = chain.pids()
  PATH_PROCESSES[SSH] = pids.map((_, i) => `ssh ${i + 1}`)
  return Object.fromEntries(pids.map((pid, i) => [`ssh ${i + 1}`, pid]))
}

/** A hop chain's processes under the names PATH_PROCESSES gives them, from the client's side. */
function processNames(path: string, pids: readonly number[]): Record<string, number> {
  return Object.fromEntries(pids.map((pid, i) => [PATH_PROCESSES[path]?.[i] ?? `${path} hop ${i + 1}`, pid]))
}

/**
 * CPU seconds per million points in each path's best round: the writers, InfluxDB, and the path's
 * own processes. On a machine whose CPUs the direct writes already fill, a path's rate over the
 * direct one is about (writers + InfluxDB) over (writers + InfluxDB + its own processes).
 */
function cpuRows(r: Rounds): Record<string, string | number>[] {
  return Object.entries(PATH_PROCESSES).map(([path, own]) => {
    const cpu = r.cpuSecondsPerMillionPoints[path] ?? {}
    const ownSum = own.reduce((sum, name) => sum + (cpu[name] ?? NaN), 0)
    return {
      path, writers: cpu.client ?? NaN, influxd: cpu.influxd ?? NaN, "the path's own processes": fmt(ownSum),
      'of which': own.map((name) => `${name} ${cpu[name] ?? NaN}`).join(', ') || '-'
    }
  })
}

/** A difference in ms with its sign: a path through more processes can still be faster at p99. */
const added = (ms: number): string => `${ms < 0 ? '' : '+'}${fmt(ms, 3)} ms`

/** A latency row at percentile `p`: each path's figure and what it adds to the direct one. */
function latencyRow(p: number, [direct, relayed, floor, httpFloor, ssh]: number[][], goal: string): Record<string, string | number> {
  const [d, r, f, h, x] = [direct, relayed, floor, httpFloor, ssh].map((t) => percentile(t ?? [], p)) as [number, number, number, number, number]
  return {
    measure: `write latency p${p} ms (1 point)`, direct: fmt(d, 3), [RELAYED_COLUMN]: fmt(r, 3), ratio: added(r - d), goal,
    [FLOOR_COLUMN]: fmt(f, 3), [FLOOR_RATIO_COLUMN]: added(f - d), [HTTP_FLOOR_COLUMN]: fmt(h, 3), [HTTP_FLOOR_RATIO_COLUMN]: added(h - d),
    [SSH_COLUMN]: fmt(x, 3), 'relayed / ssh': added(x - d)
  }
}

/** Portico beside what users would pick instead: the SSH bastion chain, and the floor for CPU. */
function alternativesRows(r: Rounds, latency: number[][]): Record<string, string | number>[] {
  const own = (path: string): number => (PATH_PROCESSES[path] ?? []).reduce((sum, name) => sum + (r.cpuSecondsPerMillionPoints[path]?.[name] ?? NaN), 0)
  const addedAt = (i: number, p: number): number => percentile(latency[i] ?? [], p) - percentile(latency[0] ?? [], p)
  const rate = (r.best[RELAYED] ?? NaN) / (r.best[SSH] ?? NaN)
  return [
    { measure: 'points/s, relayed inlet over the ssh bastion chain', portico: fmt(r.best[RELAYED] ?? NaN, 0), alternative: fmt(r.best[SSH] ?? NaN, 0), ratio: fmt(rate), goal: `>= ${SSH_RATE_GOAL}`, met: String(rate >= SSH_RATE_GOAL) },
    { measure: 'added p50 ms, relayed inlet beside the ssh bastion chain', portico: fmt(addedAt(1, 50), 3), alternative: fmt(addedAt(4, 50), 3), ratio: '-', goal: '<= ssh', met: String(addedAt(1, 50) <= addedAt(4, 50)) },
    { measure: 'added p99 ms, relayed inlet beside the ssh bastion chain', portico: fmt(addedAt(1, 99), 3), alternative: fmt(addedAt(4, 99), 3), ratio: '-', goal: '-', met: '-' },
    { measure: 'CPU s per million points of the path\'s own processes, beside the floor', portico: fmt(own(RELAYED)), alternative: fmt(own(FLOOR)), ratio: fmt(own(RELAYED) / own(FLOOR)), goal: `<= ${FLOOR_CPU_GOAL}`, met: String(own(RELAYED) / own(FLOOR) <= FLOOR_CPU_GOAL) },
    { measure: 'CPU s per million points of the path\'s own processes, beside the ssh bastion chain', portico: fmt(own(RELAYED)), alternative: fmt(own(SSH)), ratio: fmt(own(RELAYED) / own(SSH)), goal: '-', met: '-' }
  ]
}

async function leaseFigures(name: string, backend: LeaseBackend, count: number, ttlSeconds: number): Promise<Record<string, string | number>> {
  const store = await openStore(`sqlite:${join(home, `${name}.sqlite`)}`)
  const lateness: number[] = []
  const manager = new LeaseManager({
    outlet: name, owner: name, backend, leases: store.leases, log: silentLogger, orgId: 'org', ttlSeconds, maxPerIdentity: count, maxTotal: count * 2,
    permissions: JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: 'bench' } }])
  })
  manager.onRevoked = (ms) => lateness.push(ms)
  const controller = new AbortController()
  void manager.sweep(controller.signal)
  const t = process.hrtime.bigint()
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < count) {
      next++
      await manager.create({ identifier: `I${(next % 100).toString().padStart(64, '0')}`, attributes: {} })
    }
  }))
  const issuedPerSecond = count / (Number(process.hrtime.bigint() - t) / 1e9)
  while (lateness.length < count) await sleep(100)
  controller.abort()
  await store.close()
  lateness.sort((a, b) => a - b)
  return {
    backend: name, leases: count, 'issued/s': fmt(issuedPerSecond, 1),
    'revocation lateness p50 ms': fmt(percentile(lateness, 50), 0), 'p99 ms': fmt(percentile(lateness, 99), 0), 'max ms': fmt(lateness.at(-1) ?? NaN, 0)
  }
}

async function main(): Promise<void> {
  // First, while nothing else runs: how dear a hop between processes is on this machine.
  await reportHopRoundTrips()
  const secret = 'bench-shared-secret'
  const influx = await startInflux({ sharedSecret: secret })
  const v2 = await startV2Emulator({ buckets: ['bench'] })
  const v3 = await startV3Emulator()
  let chain: TcpHopChain | undefined
  let httpChain: TcpHopChain | undefined
  let ssh: SshBastionChain | undefined
  const cleanUp = cleanUpOnce(async () => {
    await chain?.stop()
    await httpChain?.stop()
    ssh?.stop()
    for (const n of ['inlet', 'outlet', 'authority']) await portico('node', 'delete', n).catch(() => undefined)
    await influx.stop()
    await v2.close()
    await v3.close()
    rmSync(home, { recursive: true, force: true })
  })
  try {
    const writer = await benchWriter(influx, secret)
    const v1 = new V1Backend({ endpoint: { to: influx.address, tls: false }, adminUsername: influx.admin.username, adminPassword: influx.admin.password, sharedSecret: secret })
    const [projectPort, inletPort] = [await freePort(), await freePort()]
    await benchProject(portico, projectPort ?? 0, ['--attribute', 'influxdb-outlet=true', '--relay', 'influxdb'], ['--attribute', 'influxdb-inlet=true'])
    writeFileSync(join(home, 'outlet.json'), JSON.stringify({ relay: 'influxdb', 'influxdb-outlet': benchInfluxdbOutlet(influx, secret) }))
    await portico('node', 'create', 'outlet', '--identity', 'outlet', '--config', join(home, 'outlet.json'))
    await portico('node', 'create', 'inlet', '--identity', 'inlet', '--configuration', `influxdb-inlet: {from: ${inletPort}, via: influxdb, allow: influxdb-outlet}`)
    await sleep(1000)
    chain = await startTcpHopChain(influx.address, FLOOR_HOPS)
    httpChain = await startHopChain(influx.address, ['http', ...Array.from({ length: FLOOR_HOPS - 1 }, () => 'tcp' as const)])
    mkdirSync(join(home, 'ssh'), { recursive: true })
    ssh = await startSshBastionChain(join(home, 'ssh'), { jump: await freePort(), host: await freePort(), local: await freePort() }, influx.port)
    const paths: Path[] = [
      [DIRECT, `${influx.url}/write?db=bench`, writer],
      [RELAYED, `http://127.0.0.1:${inletPort}/write?db=bench`, {}],
      // The client's own credential, as direct: only the hops differ.
      [FLOOR, `http://${chain.address}/write?db=bench`, writer],
      [HTTP_FLOOR, `http://${httpChain.address}/write?db=bench`, writer],
      [SSH, `http://${ssh.address}/write?db=bench`, writer]
    ]
    for (const [, url, headers] of paths.slice(1)) await pointsPerSecond(url, headers, PLAIN) // warm-up: lease, channels, JIT
    const pids = {
      client: process.pid, influxd: influx.process.pid ?? 0, inlet: nodePid(home, 'inlet'), relay: nodePid(home, 'authority'), outlet: nodePid(home, 'outlet'),
      ...processNames(FLOOR, chain.pids), ...processNames(HTTP_FLOOR, httpChain.pids), ...sshProcesses(ssh)
    }
    const colocated = await rounds(pids, paths)
    const gzipped = await rounds(pids, paths, GZIP)
    const latency = await latencies(paths.map(([, url, headers]) => [url, headers] as const), PINGS)
    // The same rounds with the database host on a CPU budget of its own, as in a deployment: InfluxDB
    // and the outlet share one CPU; the writers, the inlet and the relay (other machines) the other.
    // The floors' hops are placed alike: the last hop of each stands for the outlet.
    const budgets = cpuBudgets('portico-bench', {
      database: { cpus: 1, pids: [pids.influxd, pids.outlet, ...chain.pids.slice(-1), ...httpChain.pids.slice(-1)] },
      clients: { cpus: 1, pids: [pids.client, pids.inlet, pids.relay, ...chain.pids.slice(0, -1), ...httpChain.pids.slice(0, -1)] }
    })
    let ownHost: Rounds | undefined
    try {
      if (budgets !== undefined) ownHost = await rounds(pids, paths)
    } finally {
      budgets?.release()
    }
    const rows = [
      throughputRow(`points/s, 4 writers x ${BATCH_POINTS}-point batches, all on this machine's CPUs`, colocated, '>= 0.9'),
      throughputRow(`points/s, the same with gzip bodies (${gzipPercent()} % of the bytes), as Telegraf and the v2 clients send by default`, gzipped, '>= 0.9'),
      throughputRow('points/s, database host on its own CPU (InfluxDB + outlet: 1 CPU; writers, inlet, relay: 1 CPU)', ownHost, '(deployment view)'),
      latencyRow(50, latency, 'added <= 1 ms'),
      latencyRow(99, latency, '-')
    ]
    report('influx-writes', rows, { rounds: ROUNDS, colocated, gzipped, databaseHostOnItsOwnCpu: ownHost ?? null, batches: BATCHES, batchPoints: BATCH_POINTS, pings: PINGS })
    report('influx-vs-alternatives', alternativesRows(colocated, latency), { note: 'same run, same writers and InfluxDB; all paths on this machine\'s CPUs' })
    report('influx-writes-cpu', cpuRows(colocated), { unit: 'CPU s per million points, best round of each path, all on this machine\'s CPUs' })
    const leases = [
      await leaseFigures('v1 (InfluxDB 1.6.7, bcrypt users)', v1, Number(process.env.BENCH_V1_LEASES ?? 300), 3),
      await leaseFigures('v2 (contract-checked emulator)', new V2Backend({ endpoint: { to: v2.address, tls: false }, orgId: v2.orgId, allAccessToken: v2.allAccessToken }), LEASES, 5),
      await leaseFigures('v3 Enterprise (contract-checked emulator)', new V3Backend({ endpoint: { to: v3.address, tls: false }, adminToken: v3.adminToken }), LEASES, 5)
    ]
    report('influx-leases', leases, { violations: v2.violations.length + v3.violations.length })
  } finally {
    await cleanUp()
  }
}

await main()
process.exit(0)
