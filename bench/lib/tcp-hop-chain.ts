// A chain of plain TCP forwarding processes: the least any design of separate Node processes
// between a client and its database can cost on this machine (no framing, no encryption, no HTTP;
// each byte is only read and written once per process). bench:influx measures it beside Portico.
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
      const child = fork(new URL('./tcp-hop.ts', import.meta.url).pathname, [next], { execArgv: ['--import', 'tsx', ...NODE_V8_FLAGS], stdio: 'inherit' })
      children.push(child)
      const [port] = (await Promise.race([
        once(child, 'message'),
        once(child, 'exit').then(([code]) => { throw new Error(`a TCP hop exited before listening (code ${String(code)})`) })
      ])) as [number]
      next = `127.0.0.1:${port}`
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { address: next, pids: children.map((c) => c.pid ?? 0).reverse(), stop }
}
