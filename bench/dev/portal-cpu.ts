// Development aid, not a benchmark of record: pushes bytes through (c) and (d) portals that all
// live in this one process and prints CPU seconds per GiB, so a --cpu-prof of this process shows
// where a portal's CPU goes without other processes' scheduling in the samples.
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { startProject } from '../../test/support/project.js'
import { waitFor } from '../../test/helpers.js'
import { countingSink, pushBytes } from '../lib/bulk.js'

const BYTES = Number(process.env.BENCH_BULK_MIB ?? 1024) * 2 ** 20

const sink = countingSink()
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

/** CPU seconds per GiB this whole process spent pushing BYTES through the inlet at `address`. */
async function push(address: string): Promise<number> {
  const cpu = process.cpuUsage()
  await pushBytes(Number(address.split(':')[1]), BYTES)
  const u = process.cpuUsage(cpu)
  return ((u.user + u.system) / 1e6) / (BYTES / 2 ** 30)
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
