import { createServer, connect, type Server, type Socket } from 'node:net'
import { once } from 'node:events'

// A TCP proxy put between two nodes (or a node and a server) whose behaviour is set at run time,
// for the network faults a process crash does not show:
//   pass       bytes go through;
//   blackhole  a path that silently stops delivering: nothing is read from either side, so the
//              bytes wait in the kernels' buffers as behind a dead route, no FIN, no RST; new
//              connections are accepted and left silent; back to pass, what waited flows on;
//   reset      every connection is aborted with an RST, and new ones are reset as they come;
//   delay      every chunk is held `ms` before it is forwarded, in order.

export type FaultMode = { kind: 'pass' } | { kind: 'blackhole' } | { kind: 'reset' } | { kind: 'delay'; ms: number }

interface Pair {
  client: Socket
  server: Socket | undefined
}

export class FaultProxy {
  private mode: FaultMode = { kind: 'pass' }
  private readonly pairs = new Set<Pair>()
  /** Connections the proxy has accepted so far: a test sees a reconnect as this growing. */
  accepted = 0

  private constructor(private readonly server: Server, private readonly target: { host: string; port: number }) {
    server.on('connection', (s: Socket) => this.accept(s))
  }

  static async start(target: string): Promise<FaultProxy> {
    const at = target.lastIndexOf(':')
    const server = createServer({ pauseOnConnect: true })
    const proxy = new FaultProxy(server, { host: target.slice(0, at), port: Number(target.slice(at + 1)) })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return proxy
  }

  get port(): number {
    const a = this.server.address()
    return typeof a === 'object' && a !== null ? a.port : 0
  }

  get address(): string {
    return `127.0.0.1:${this.port}`
  }

  get connections(): number {
    return this.pairs.size
  }

  set(mode: FaultMode): void {
    this.mode = mode
    for (const p of [...this.pairs]) {
      if (mode.kind === 'reset') this.abort(p)
      else if (mode.kind === 'blackhole') this.pause(p)
      else this.flow(p)
    }
  }

  async close(): Promise<void> {
    for (const p of [...this.pairs]) this.abort(p)
    this.server.close()
    if (this.server.listening) await once(this.server, 'close')
  }

  private accept(client: Socket): void {
    this.accepted++
    if (this.mode.kind === 'reset') {
      client.resetAndDestroy()
      return
    }
    const pair: Pair = { client, server: undefined }
    this.pairs.add(pair)
    client.on('error', () => this.abort(pair))
    client.on('close', () => this.end(pair))
    if (this.mode.kind !== 'blackhole') this.flow(pair)
  }

  /** Connects upstream on first need, then lets bytes move both ways (each chunk held while delaying). */
  private flow(pair: Pair): void {
    if (pair.server === undefined) {
      const server = connect(this.target.port, this.target.host)
      pair.server = server
      server.on('error', () => this.abort(pair))
      server.on('close', () => this.end(pair))
      this.forward(pair.client, server)
      this.forward(server, pair.client)
    }
    pair.client.resume()
    pair.server.resume()
  }

  private forward(from: Socket, to: Socket): void {
    let chain = Promise.resolve()
    let waiting = 0
    from.on('data', (chunk: Buffer) => {
      const delayMs = this.mode.kind === 'delay' ? this.mode.ms : 0
      if (delayMs === 0 && waiting === 0) {
        to.write(chunk)
        return
      }
      // Each chunk is due `delayMs` after it came, and waits for those before it, so order holds.
      const due = Date.now() + delayMs
      waiting++
      chain = chain.then(() => new Promise<void>((r) => setTimeout(r, Math.max(0, due - Date.now())))).then(() => {
        waiting--
        if (!to.destroyed) to.write(chunk)
      })
    })
  }

  private pause(pair: Pair): void {
    pair.client.pause()
    pair.server?.pause()
  }

  private abort(pair: Pair): void {
    if (!this.pairs.delete(pair)) return
    if (!pair.client.destroyed) pair.client.resetAndDestroy()
    if (pair.server !== undefined && !pair.server.destroyed) pair.server.resetAndDestroy()
  }

  /** One side closed cleanly: the other side is told the same way. */
  private end(pair: Pair): void {
    if (!this.pairs.delete(pair)) return
    pair.client.destroy()
    pair.server?.destroy()
  }
}
