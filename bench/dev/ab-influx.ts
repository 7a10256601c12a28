// Development aid, not a benchmark of record: two builds of Portico side by side, each with its own
// project node (relay), outlet and inlet in separate processes in front of one real InfluxDB
// 1.6.7, taking turns at the same 5000-point writes. Per request and per process it prints CPU
// milliseconds (/proc stat, 10 ms ticks), read and write system calls (/proc io), minor page
// faults (/proc stat) and how often the main thread went to sleep (/proc status), so a change can
// be judged on a shared, noisy machine, where one build's run after the other's cannot.
// Run: AB_B_BIN=/path/to/other/checkout/bin/portico.js node --import tsx bench/dev/ab-influx.ts
// (the other checkout built with `npm run build`; AB_A_BIN defaults to this one's, AB_ROUNDS to 6;
// AB_POINTS=1 for 1-point writes, with BENCH_BATCHES=2000 or so; AB_A_FLAGS and AB_B_FLAGS add
// Node flags to each build's nodes, to compare flags with one build).
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../../test/support/postgres.js'
import { startInflux, type InfluxServer } from '../../test/support/influxdb.js'
import { cpuSeconds, minorFaults, nodePid, voluntarySleeps } from '../../test/support/processes.js'
import { benchInfluxdbOutlet } from '../lib/influx-writes.js'
import { benchHome, benchProject } from '../lib/portico-cli.js'
import { BATCH_POINTS, lineProtocolBatch } from '../lib/line-protocol.js'
import { fmt, report } from '../lib/report.js'

const BATCHES = Number(process.env.BENCH_BATCHES ?? 200)
const ROUNDS = Number(process.env.AB_ROUNDS ?? 6)
const PROCESSES = { inlet: 'inlet', relay: 'authority', outlet: 'outlet' } as const
const SECRET = 'ab-influx-secret'
/** AB_POINTS=1 writes 1-point bodies instead, where the per-request costs show. */
const ONE_POINT = process.env.AB_POINTS === '1'
const POINTS = ONE_POINT ? 1 : BATCH_POINTS
const bodies = Array.from({ length: 8 }, (_, i) => ONE_POINT ? `ab,host=h${i} v=${i}` : lineProtocolBatch(i))

interface Build { name: string; url: string; pids: Record<string, number>; stop(): Promise<void> }

/** [CPU seconds, read calls, write calls, minor page faults, times its main thread slept] of a process so far. */
function usage(pid: number): [number, number, number, number, number] {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8')
  const field = (name: string): number => Number(new RegExp(`${name}: (\\d+)`).exec(io)?.[1] ?? NaN)
  return [cpuSeconds(pid), field('syscr'), field('syscw'), minorFaults(pid), voluntarySleeps(pid)]
}

async function start(name: string, bin: string | undefined, nodeFlags: string | undefined, influx: InfluxServer): Promise<Build> {
  // The CLI passes PORTICO_NODE_FLAGS on to the nodes it starts, and benchHome takes the
  // environment as it is when called.
  if (nodeFlags === undefined) delete process.env.PORTICO_NODE_FLAGS
  else process.env.PORTICO_NODE_FLAGS = nodeFlags
  const { home, portico } = benchHome(`portico-ab-${name}-`, ...(bin === undefined ? [] : [bin]))
  const [projectPort, inletPort] = [await freePort(), await freePort()]
  await benchProject(portico, projectPort, ['--attribute', 'influxdb-outlet=true', '--relay', 'influxdb'], ['--attribute', 'influxdb-inlet=true'])
  writeFileSync(join(home, 'outlet.json'), JSON.stringify({ relay: 'influxdb', 'influxdb-outlet': benchInfluxdbOutlet(influx, SECRET) }))
  await portico('node', 'create', 'outlet', '--identity', 'outlet', '--config', join(home, 'outlet.json'))
  await portico('node', 'create', 'inlet', '--identity', 'inlet', '--configuration', `influxdb-inlet: {from: ${inletPort}, via: influxdb, allow: influxdb-outlet}`)
  return {
    name, url: `http://127.0.0.1:${inletPort}/write?db=bench`,
    pids: Object.fromEntries(Object.entries(PROCESSES).map(([role, node]) => [role, nodePid(home, node)])),
    stop: async () => {
      for (const node of Object.values(PROCESSES)) await portico('node', 'delete', node).catch(() => undefined)
      rmSync(home, { recursive: true, force: true })
    }
  }
}

/** BATCHES writes by 4 writers; points per second. */
async function writes(url: string): Promise<number> {
  let next = 0
  const t = process.hrtime.bigint()
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < BATCHES) {
      const r = await fetch(url, { method: 'POST', body: bodies[next++ % bodies.length] ?? '' })
      if (r.status !== 204) throw new Error(`write failed: ${r.status} ${await r.text()}`)
    }
  }))
  return (BATCHES * POINTS) / (Number(process.hrtime.bigint() - t) / 1e9)
}

const influx = await startInflux({ sharedSecret: SECRET })
const builds: Build[] = []
try {
  await influx.query('CREATE DATABASE bench', { username: influx.admin.username, password: influx.admin.password, method: 'POST' })
  builds.push(await start('a', process.env.AB_A_BIN, process.env.AB_A_FLAGS, influx), await start('b', process.env.AB_B_BIN, process.env.AB_B_FLAGS, influx))
  await sleep(1000)
  for (const b of builds) await writes(b.url) // warm-up: leases, channels, JIT
  const rounds: Record<string, string | number>[] = []
  for (let round = 0; round < ROUNDS; round++) {
    // Each build goes first in every other round, so neither always meets the other's leftovers.
    for (const b of round % 2 === 0 ? builds : [...builds].reverse()) {
      const before = Object.values(b.pids).map(usage)
      const rate = await writes(b.url)
      const row: Record<string, string | number> = { build: b.name, round, 'points/s': fmt(rate, 0) }
      Object.entries(b.pids).forEach(([role, pid], i) => {
        const [cpu, reads, writesMade, faults, sleeps] = usage(pid).map((v, j) => (v - (before[i]?.[j] ?? 0)) / BATCHES) as [number, number, number, number, number]
        row[`${role} CPU ms`] = fmt(cpu * 1e3, 3)
        row[`${role} reads`] = fmt(reads, 1)
        row[`${role} writes`] = fmt(writesMade, 1)
        row[`${role} faults`] = fmt(faults, 1)
        row[`${role} sleeps`] = fmt(sleeps, 1)
      })
      rounds.push(row)
    }
  }
  const means = builds.map((b) => {
    const mine = rounds.filter((r) => r.build === b.name)
    const keys = Object.keys(mine[0] ?? {}).filter((k) => k !== 'build' && k !== 'round')
    return { build: b.name, ...Object.fromEntries(keys.map((k) => [k, fmt(mine.reduce((sum, r) => sum + Number(r[k]), 0) / mine.length, 3)])) }
  })
  report('ab-influx', means, { unit: `per ${POINTS}-point request, mean of the rounds`, bins: { a: process.env.AB_A_BIN ?? 'this checkout', b: process.env.AB_B_BIN ?? 'this checkout' }, flags: { a: process.env.AB_A_FLAGS ?? '', b: process.env.AB_B_FLAGS ?? '' }, rounds })
} finally {
  for (const b of builds) await b.stop()
  await influx.stop()
}
process.exit(0)
