// A chain of plain forwarding processes: the least any design of separate Node processes between a
// client and its database can cost on this machine (no framing, no encryption, no HTTP; each byte
// is only read and written once per process). With an HTTP hop first, what such a design costs
// whose client-side process speaks HTTP through `node:http`'s server and client, as the influxdb
// inlet did before it drove Node's parser itself. bench:influx measures both beside Portico.
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { NODE_V8_FLAGS } from '../../src/cli/node-flags.js'

export interface TcpHopChain {
  /** Where a client connects: the first hop. */
  address: string
  /** The hops' processes, from the client's side to the database's. */
  pids: number[]
  stop(): Promise<void>
}

/** A hop that forwards bytes, or the plainest Node HTTP proxy. */
export type HopKind = 'tcp' | 'http'

/** Starts `hops` processes that forward TCP, the last of which connects to `target` (host:port). */
export function startTcpHopChain(target: string, hops: number): Promise<TcpHopChain> {
  return startHopChain(target, Array.from({ length: hops }, () => 'tcp'))
}

/** Starts one forwarding process per kind, from the client's side to `target`'s (host:port). */
export async function startHopChain(target: string, kinds: readonly HopKind[]): Promise<TcpHopChain> {
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
    for (const kind of [...kinds].reverse()) {
      const child = fork(new URL('./tcp-hop.ts', import.meta.url).pathname, [next, kind], { execArgv: ['--import', 'tsx', ...NODE_V8_FLAGS], stdio: 'inherit' })
      children.push(child)
      const [port] = (await Promise.race([
        once(child, 'message'),
        once(child, 'exit').then(([code]) => { throw new Error(`a ${kind} hop exited before listening (code ${String(code)})`) })
      ])) as [number]
      next = `127.0.0.1:${port}`
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { address: next, pids: children.map((c) => c.pid ?? 0).reverse(), stop }
}
