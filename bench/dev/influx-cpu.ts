// Development aid, not a benchmark of record: the CPU that Portico's relayed InfluxDB write path
// (inlet with lease injection, relay, outlet, all in this one process) spends per 5000-point
// write to a real InfluxDB 1.6.7. The writers run in a child process, so this process's CPU is
// Portico's alone, and a profile of it (--cpu-prof, or perf with --perf-basic-prof) shows nothing
// else. Run: node --initial-heap-size=64 --no-concurrent-array-buffer-sweeping --import tsx bench/dev/influx-cpu.ts
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { startProject } from '../../test/support/project.js'
import { startInflux } from '../../test/support/influxdb.js'
import { waitFor } from '../../test/helpers.js'
import { BATCH_POINTS, lineProtocolBatch } from '../lib/line-protocol.js'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400)

if (process.argv[2] === 'writers') {
  const bodies = Array.from({ length: 8 }, (_, i) => lineProtocolBatch(i))
  process.on('message', (m: { url: string; n: number }) => {
    let next = 0
    void Promise.all(Array.from({ length: 4 }, async () => {
      while (next < m.n) {
        const r = await fetch(m.url, { method: 'POST', body: bodies[next++ % bodies.length] ?? '' })
        if (r.status !== 204) throw new Error(`write failed: ${r.status} ${await r.text()}`)
      }
    })).then(() => process.send?.('done'))
  })
} else {
  const secret = 'influx-cpu-secret'
  const influx = await startInflux({ sharedSecret: secret })
  await influx.query('CREATE DATABASE bench', { username: influx.admin.username, password: influx.admin.password })
  const project = await startProject()
  const outlet = await project.member('outlet', { relay: 'influxdb', 'influxdb-outlet': 'true' }, {
    'tcp-listener-address': undefined, relay: ['influxdb'],
    'influxdb-outlet': [{
      to: influx.address, tls: false, api: 'v1', allow: 'influxdb-inlet', 'admin-username': influx.admin.username, 'admin-password': influx.admin.password,
      'shared-secret': secret, from: 'influxdb-outlet', 'leased-token-expires-in': 3600, 'leased-token-permissions': '[{"action":"write","resource":{"type":"buckets","name":"bench"}}]', 'max-leases-per-identity': 10, 'max-leases': 100
    }]
  })
  await waitFor(() => outlet.portals.relays.get('influxdb')?.registered === true, 5000, 'relay registered')
  const device = await project.member('device', { 'influxdb-inlet': 'true' }, {
    'influxdb-inlet': [{ from: '127.0.0.1:0', via: 'influxdb', outlet: 'influxdb-outlet', 'leased-token-strategy': 'shared' }]
  })
  const url = `http://${[...device.portals.influxdbInlets.keys()][0] ?? ''}/write?db=bench`
  const writers = fork(new URL(import.meta.url).pathname, ['writers'], { execArgv: ['--import', 'tsx'] })
  const run = async (n: number): Promise<void> => {
    writers.send({ url, n })
    await once(writers, 'message')
  }
  process.stderr.write(`writing through ${url}\n`)
  await run(100) // warm-up: lease, channels, JIT
  for (let round = 0; round < Number(process.env.REPEAT ?? 3); round++) {
    const cpu = process.cpuUsage()
    const started = process.hrtime.bigint()
    await run(REQUESTS)
    const used = process.cpuUsage(cpu)
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    console.log(`round ${round}: ${((REQUESTS * BATCH_POINTS) / seconds).toFixed(0)} points/s, Portico ${((used.user + used.system) / 1e3 / REQUESTS).toFixed(3)} CPU ms per request ` +
      `(${((used.user + used.system) / (REQUESTS * BATCH_POINTS)).toFixed(3)} CPU s per million points; user ${(used.user / 1e3 / REQUESTS).toFixed(3)}, system ${(used.system / 1e3 / REQUESTS).toFixed(3)} ms)`)
  }
  writers.kill()
  await project.stop()
  await influx.stop()
}
