// Development aid, not a benchmark of record: the CPU the influxdb inlet's HTTP handling costs per
// 5000-point write (Node's server and client, header rewriting, the retry copy), next to a plain
// TCP pipe carrying the same requests. No portal and no lease: only the HTTP layer is measured,
// with the client and the target in a child process so that this process holds the inlet alone.
import { connect, createServer as netServer, type AddressInfo } from 'node:net'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { InfluxdbInlet } from '../../src/influxdb/influxdb-inlet.js'
import { silentLogger } from '../../src/log/logger.js'
import { lineProtocolBatch } from '../lib/line-protocol.js'

if (process.argv[2] === 'child') {
  const { createServer } = await import('node:http')
  const target = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(204).end()) })
  target.listen(0, '127.0.0.1'); await once(target, 'listening')
  process.send?.({ target: (target.address() as AddressInfo).port })
  const body = lineProtocolBatch(1)
  const writeAll = async (m: { url: string; n: number }): Promise<void> => {
    let next = 0
    await Promise.all(Array.from({ length: 4 }, async () => { while (next++ < m.n) { const r = await fetch(m.url, { method: 'POST', body }); await r.arrayBuffer() } }))
    process.send?.({ done: true })
  }
  process.on('message', (m: { url: string; n: number }) => { void writeAll(m) })
} else {
  const child = fork(new URL(import.meta.url).pathname, ['child'], { execArgv: ['--import', 'tsx'] })
  const [{ target }] = await once(child, 'message') as [{ target: number }]
  const inlet = new InfluxdbInlet({ log: silentLogger, from: '127.0.0.1:0', upstream: () => connect({ host: '127.0.0.1', port: target }), leases: { get: () => Promise.resolve({ id: 'x', authorization: 'Token abc' }), invalidate: () => undefined } as never, strategy: 'shared' })
  const at = await inlet.start()
  const pipe = netServer((c) => { const u = connect({ host: '127.0.0.1', port: target }); c.pipe(u); u.pipe(c) })
  pipe.listen(0, '127.0.0.1'); await once(pipe, 'listening')
  const run = async (url: string, n: number): Promise<number> => {
    const c = process.cpuUsage()
    child.send({ url, n }); await once(child, 'message')
    const u = process.cpuUsage(c); return (u.user + u.system) / 1000 / n
  }
  await run(`http://${at}/write?db=x`, 200)
  for (let i = 0; i < Number(process.env.N ?? 3); i++) {
    const a = await run(`http://${at}/write?db=x`, 1000)
    const b = await run(`http://127.0.0.1:${(pipe.address() as AddressInfo).port}/write?db=x`, 1000)
    console.log('ms CPU per 5000-point request: inlet', a.toFixed(3), 'plain TCP pipe', b.toFixed(3))
  }
  child.kill(); process.exit(0)
}
