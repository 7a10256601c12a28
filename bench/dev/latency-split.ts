// Development aid, not a benchmark of record: where the added latency of a 1-point write goes.
// Three paths to the same InfluxDB 1.6.7 take turns in blocks of 100 sequential writes on one
// keep-alive connection: direct; a plain tcp-inlet -> relay -> tcp-outlet portal (the client sends
// its own credential), which costs the hops and the channel; and the influxdb inlet, which adds
// its HTTP layer and the lease. The hop round trips of this machine are printed first.
// Run: npm run -s build && node --import tsx bench/dev/latency-split.ts
import { rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { request, Agent } from 'node:http'
import { freePort } from '../../test/support/postgres.js'
import { startInflux } from '../../test/support/influxdb.js'
import { v1Jwt } from '../../src/influxdb/v1-backend.js'
import { benchHome, benchProject } from '../lib/portico-cli.js'
import { fmt, percentile, report } from '../lib/report.js'
import { reportHopRoundTrips } from '../lib/hop-latency.js'
import { cpuSeconds, nodePid } from '../../test/support/processes.js'

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 12)
const BLOCK = 100
const WARM_BLOCKS = 2

const agent = new Agent({ keepAlive: true, maxSockets: 1 })

function write(port: number, headers: Record<string, string>, i: number): Promise<number> {
  const body = `latency,host=a v=${i} ${Date.now()}000000`
  const t = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path: '/write?db=bench', method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.on('end', () => { if (res.statusCode === 204) resolve(Number(process.hrtime.bigint() - t) / 1e6); else reject(new Error(`write failed: ${res.statusCode}`)) })
    })
    r.on('error', reject)
    r.end(body)
  })
}

await reportHopRoundTrips()
const { home, portico } = benchHome('portico-latency-split-')
const secret = 'latency-split-secret'
const influx = await startInflux({ sharedSecret: secret })
try {
  const admin = { username: influx.admin.username, password: influx.admin.password, method: 'POST' as const }
  await influx.query('CREATE DATABASE bench', admin)
  await influx.query(`CREATE USER bench_writer WITH PASSWORD '${randomBytes(18).toString('base64url')}'`, admin)
  await influx.query('GRANT WRITE ON bench TO bench_writer', admin)
  const writer = { authorization: `Bearer ${v1Jwt(secret, 'bench_writer', Date.now() + 3_600_000)}` }
  const [projectPort, inletPort, tcpPort] = [await freePort(), await freePort(), await freePort()]
  await benchProject(portico, projectPort ?? 0, ['--attribute', 'influxdb-outlet=true', '--relay', 'influxdb'], ['--attribute', 'influxdb-inlet=true'])
  writeFileSync(join(home, 'outlet.json'), JSON.stringify({ relay: 'influxdb',
    'tcp-outlet': { to: influx.address, from: 'plain-outlet', allow: 'influxdb-inlet' },
    'influxdb-outlet': { to: influx.address, api: 'v1', allow: 'influxdb-inlet', 'admin-username': influx.admin.username, 'admin-password': influx.admin.password,
      'shared-secret': secret, 'leased-token-expires-in': '1h', 'leased-token-permissions': [{ action: 'write', resource: { type: 'buckets', name: 'bench' } }] } }))
  await portico('node', 'create', 'outlet', '--identity', 'outlet', '--config', join(home, 'outlet.json'))
  await portico('node', 'create', 'inlet', '--identity', 'inlet', '--configuration',
    `{influxdb-inlet: {from: ${inletPort}, via: influxdb, allow: influxdb-outlet}, tcp-inlet: {from: ${tcpPort}, via: influxdb, outlet: plain-outlet, allow: influxdb-outlet}}`)
  await sleep(1000)
  const paths: [string, number, Record<string, string>][] = [
    ['direct', Number(influx.address.split(':').at(-1)), writer],
    ['tcp portal via relay (client credential)', tcpPort ?? 0, writer],
    ['influxdb inlet via relay (injected lease)', inletPort ?? 0, {}]
  ]
  const times = paths.map((): number[] => [])
  // CPU seconds each process spends on each path's measured blocks.
  const pids = { influxd: influx.process.pid ?? 0, inlet: nodePid(home, 'inlet'), relay: nodePid(home, 'authority'), outlet: nodePid(home, 'outlet') }
  const cpu = paths.map(() => Object.fromEntries(Object.keys(pids).map((n) => [n, 0])))
  for (let b = 0; b < BLOCKS; b++) {
    for (const [k, [, port, headers]] of paths.entries()) {
      const before = Object.values(pids).map(cpuSeconds)
      for (let i = 0; i < BLOCK; i++) {
        const t = await write(port, headers, i)
        if (b >= WARM_BLOCKS) times[k]?.push(t)
      }
      if (b >= WARM_BLOCKS) Object.entries(pids).forEach(([n, pid], j) => { const c = cpu[k]; if (c !== undefined) c[n] = (c[n] ?? 0) + cpuSeconds(pid) - (before[j] ?? 0) })
    }
  }
  const perRequest = (k: number, n: string): number => fmt(((cpu[k]?.[n] ?? 0) / (times[k]?.length ?? 1)) * 1e6, 0)
  for (const t of times) t.sort((a, b) => a - b)
  const p50 = (k: number): number => percentile(times[k] ?? [], 50)
  report('latency-split', paths.map(([name], k) => ({
    path: name, 'p50 ms': fmt(p50(k), 3), 'p99 ms': fmt(percentile(times[k] ?? [], 99), 3), 'added to the path before ms': k === 0 ? '-' : fmt(p50(k) - p50(k - 1), 3),
    ...Object.fromEntries(Object.keys(pids).map((n) => [`${n} CPU µs/request`, perRequest(k, n)]))
  })))
} finally {
  for (const n of ['inlet', 'outlet', 'authority']) await portico('node', 'delete', n).catch(() => undefined)
  await influx.stop()
  rmSync(home, { recursive: true, force: true })
}
process.exit(0)
