// Development aid, not a benchmark of record: pushes bytes through (c) and (d) portals that all
// live in this one process and prints CPU seconds per GiB, so a --cpu-prof of this process shows
// where a portal's CPU goes without other processes' scheduling in the samples.
import { createServer, connect, type AddressInfo } from 'node:net'
import { once } from 'node:events'
import { startProject } from '../../test/support/project.js'
import { waitFor } from '../../test/helpers.js'

const BYTES = Number(process.env.BENCH_BULK_MIB ?? 1024) * 2 ** 20

const sink = createServer({ allowHalfOpen: true }, (s) => {
  let n = 0
  s.on('data', (c: Buffer) => { n += c.length })
  s.on('end', () => s.end(String(n)))
})
sink.listen(0, '127.0.0.1')
await once(sink, 'listening')
const sinkAddress = `127.0.0.1:${(sink.address() as AddressInfo).port}`

const project = await startProject()
const outlet = await project.member('outlet', { 'o': 'true', relay: 'db' }, {
  relay: ['db'], 'tcp-outlet': [{ to: sinkAddress, from: 'sink', allow: 'i', tls: false }]
})
await waitFor(() => outlet.portals.relays.get('db')?.registered === true, 5000, 'relay registered')
const outletRoute = `/ip4/${outlet.node.listenAddress ?? ''}/secure/api/service/sink`.replace('/ip4/127.0.0.1:', '/ip4/127.0.0.1/tcp/')
const inlet = await project.member('inlet', { i: 'true' }, {
  'tcp-inlet': [{ from: '127.0.0.1:0', via: 'db', outlet: 'sink', allow: 'o' }, { from: '127.0.0.1:0', to: outletRoute, allow: 'o' } as never]
})
const [viaRelay, direct] = [...inlet.portals.inlets.keys()]

async function push(address: string): Promise<number> {
  const [host, port] = address.split(':')
  const s = connect({ host, port: Number(port) })
  await once(s, 'connect')
  const chunk = Buffer.alloc(256 * 1024, 7)
  const answer = new Promise<string>((resolve) => { let t = ''; s.on('data', (c: Buffer) => { t += c.toString() }); s.on('end', () => resolve(t)) })
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  for (let sent = 0; sent < BYTES; sent += chunk.length) if (!s.write(chunk)) await once(s, 'drain')
  s.end()
  if (Number(await answer) !== BYTES) throw new Error('short')
  const u = process.cpuUsage(cpu)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  s.destroy()
  return ((u.user + u.system) / 1e6) / (BYTES / 2 ** 30) + 0 * seconds
}

for (const [name, address] of [['(c) direct', direct], ['(d) relay', viaRelay]] as const) {
  if (address === undefined) continue
  if (process.env.ONLY !== undefined && !name.includes(process.env.ONLY)) continue
  await push(address)
  for (let i = 0; i < Number(process.env.REPEAT ?? 1); i++) {
    console.log(name, 'CPU s per GiB (whole process)', (await push(address)).toFixed(3), 'heap MiB', (process.memoryUsage().heapUsed / 2 ** 20).toFixed(1), 'rss MiB', (process.memoryUsage().rss / 2 ** 20).toFixed(0))
  }
}
await project.stop()
sink.close()
process.exit(0)
