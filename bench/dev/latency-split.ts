// Development aid, not a benchmark of record: where the added latency of a 1-point write goes.
// Four paths to the same InfluxDB 1.6.7 take turns in blocks of 1-point writes, as bench:influx's
// latency rows do: direct; three plain Node processes that only forward TCP (the hops alone); a
// plain tcp-inlet -> relay -> tcp-outlet portal (the client sends its own credential), which adds
// the channel and the routing; and the influxdb inlet, which adds its HTTP layer and the lease. Each process's CPU per request is taken around each path's blocks.
// The hop round trips of this machine are printed first.
// Run: npm run -s build && node --import tsx bench/dev/latency-split.ts
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../../test/support/postgres.js'
import { startInflux } from '../../test/support/influxdb.js'
import { cpuSeconds, nodePid } from '../../test/support/processes.js'
import { benchHome, benchProject } from '../lib/portico-cli.js'
import { fmt, percentile, report } from '../lib/report.js'
import { reportHopRoundTrips } from '../lib/hop-latency.js'
import { benchInfluxdbOutlet, benchWriter, latencies } from '../lib/influx-writes.js'
import { startTcpHopChain, type TcpHopChain } from '../lib/tcp-hop-chain.js'

const PINGS = Number(process.env.BENCH_PINGS ?? 1000)

await reportHopRoundTrips()
const { home, portico } = benchHome('portico-latency-split-')
const secret = 'latency-split-secret'
const influx = await startInflux({ sharedSecret: secret })
let chain: TcpHopChain | undefined
try {
  const writer = await benchWriter(influx, secret)
  const [projectPort, inletPort, tcpPort] = [await freePort(), await freePort(), await freePort()]
  await benchProject(portico, projectPort ?? 0, ['--attribute', 'influxdb-outlet=true', '--relay', 'influxdb'], ['--attribute', 'influxdb-inlet=true'])
  writeFileSync(join(home, 'outlet.json'), JSON.stringify({
    relay: 'influxdb', 'tcp-outlet': { to: influx.address, from: 'plain-outlet', allow: 'influxdb-inlet' }, 'influxdb-outlet': benchInfluxdbOutlet(influx, secret)
  }))
  await portico('node', 'create', 'outlet', '--identity', 'outlet', '--config', join(home, 'outlet.json'))
  await portico('node', 'create', 'inlet', '--identity', 'inlet', '--configuration',
    `{influxdb-inlet: {from: ${inletPort}, via: influxdb, allow: influxdb-outlet}, tcp-inlet: {from: ${tcpPort}, via: influxdb, outlet: plain-outlet, allow: influxdb-outlet}}`)
  await sleep(1000)
  chain = await startTcpHopChain(influx.address, 3)
  const paths: [string, string, Record<string, string>][] = [
    ['direct', influx.url, writer],
    ['3 plain Node TCP hops (client credential)', `http://${chain.address}`, writer],
    ['tcp portal via relay (client credential)', `http://127.0.0.1:${tcpPort}`, writer],
    ['influxdb inlet via relay (injected lease)', `http://127.0.0.1:${inletPort}`, {}]
  ]
  const pids = {
    influxd: influx.process.pid ?? 0, inlet: nodePid(home, 'inlet'), relay: nodePid(home, 'authority'), outlet: nodePid(home, 'outlet'),
    ...Object.fromEntries(chain.pids.map((pid, i) => [`hop ${i + 1}`, pid]))
  }
  // CPU seconds each process spends on each path's measured blocks.
  const cpu = paths.map(() => new Map<string, number>())
  const times = await latencies(paths.map(([, base, headers]) => [`${base}/write?db=bench`, headers] as const), PINGS, async (p, block) => {
    const before = Object.values(pids).map(cpuSeconds)
    const t = await block()
    Object.entries(pids).forEach(([n, pid], j) => cpu[p]?.set(n, (cpu[p]?.get(n) ?? 0) + cpuSeconds(pid) - (before[j] ?? 0)))
    return t
  })
  const p50 = (k: number): number => percentile(times[k] ?? [], 50)
  report('latency-split', paths.map(([name], k) => ({
    path: name, 'p50 ms': fmt(p50(k), 3), 'p99 ms': fmt(percentile(times[k] ?? [], 99), 3), 'added to the path before ms': k === 0 ? '-' : fmt(p50(k) - p50(k - 1), 3),
    ...Object.fromEntries(Object.keys(pids).map((n) => [`${n} CPU µs/request`, fmt(((cpu[k]?.get(n) ?? 0) / (times[k]?.length ?? 1)) * 1e6, 0)]))
  })))
} finally {
  await chain?.stop()
  for (const n of ['inlet', 'outlet', 'authority']) await portico('node', 'delete', n).catch(() => undefined)
  await influx.stop()
  rmSync(home, { recursive: true, force: true })
}
process.exit(0)
