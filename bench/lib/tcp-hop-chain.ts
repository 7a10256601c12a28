// A chain of plain TCP forwarding processes: the least any design of separate Node processes
// between a client and its database can cost on this machine (no framing, no encryption, no HTTP;
// each byte is only read and written once per process). bench:influx measures it beside Portico.
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer, type AddressInfo } from 'node:net'
import { NODE_V8_FLAGS } from '../../src/cli/node-flags.js'
import { parseHostPort } from '../../src/transport/host-port.js'

export interface TcpHopChain {
  /** Where a client connects: the first hop. */
  address: string
  pids: number[]
  stop(): Promise<void>
}

/** Starts `hops` forwarding processes, the last of which connects to `target` (host:port). */
export async function startTcpHopChain(target: string, hops: number): Promise<TcpHopChain> {
  const children: ChildProcess[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return
      c.kill()
      await once(c, 'exit')
    }))
  }
  let next = target
  try {
    for (let i = 0; i < hops; i++) {
      const child = fork(new URL(import.meta.url).pathname, ['hop', next], { execArgv: ['--import', 'tsx', ...NODE_V8_FLAGS], stdio: 'inherit' })
      children.push(child)
      const [port] = (await once(child, 'message')) as [number]
      next = `127.0.0.1:${port}`
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { address: next, pids: children.map((c) => c.pid ?? 0).reverse(), stop }
}

/** One hop: every accepted connection is piped both ways to a connection of its own to `to`. */
function serveHop(to: string): void {
  const { host, port } = parseHostPort(to)
  const server = createServer((client) => {
    const upstream = connect({ host, port })
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    client.pipe(upstream).on('error', () => client.destroy())
    upstream.pipe(client).on('error', () => upstream.destroy())
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port))
  process.on('disconnect', () => process.exit(0))
}

if (process.argv[2] === 'hop') serveHop(process.argv[3] ?? '')
