import { createServer, connect, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { createHash } from 'node:crypto'

export interface Target {
  server: Server
  address: string
  close(): Promise<void>
}

async function listen(server: Server): Promise<Target> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const a = server.address()
  if (a === null || typeof a === 'string') throw new Error('no address')
  const sockets = new Set<Socket>()
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  return {
    server, address: `127.0.0.1:${a.port}`,
    async close() {
      for (const s of sockets) s.destroy()
      server.close()
      if (server.listening) await once(server, 'close')
    }
  }
}

/** A TCP echo server: the simplest private service. */
export function echoServer(): Promise<Target> {
  return listen(createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => undefined); s.pipe(s) }))
}

/** A piece of what a client writes; after a `pause` the next piece comes in a later turn, and so in another read. */
export interface Piece { bytes: Uint8Array; pause?: boolean }

/** Connects, writes `data` (or the pieces one by one), half-closes, and returns everything the server sent back. */
export async function roundTrip(address: string, data: Uint8Array | readonly Piece[]): Promise<Buffer> {
  const [host, port] = address.split(':')
  const socket = connect({ host, port: Number(port), allowHalfOpen: true })
  await once(socket, 'connect')
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  socket.on('error', () => undefined)
  let ended = false
  socket.on('end', () => { ended = true })
  const closed = once(socket, 'close')
  // Awaited below; an error while the pieces are still being written must not count as unhandled meanwhile.
  closed.catch(() => undefined)
  for (const p of data instanceof Uint8Array ? [{ bytes: data }] : data) {
    // Not past a close: a connection the portal gave up on never drains.
    if (!socket.write(p.bytes)) await Promise.race([once(socket, 'drain'), closed])
    if (p.pause === true) await new Promise((resolve) => setTimeout(resolve, 1))
  }
  socket.end()
  // A connection the portal gave up on closes without an orderly end: that is a failure, not a wait.
  await closed
  if (!ended) throw new Error('the connection closed before the server finished answering')
  return Buffer.concat(chunks)
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
