import { connect, createServer, type Server } from 'node:net'
import { once } from 'node:events'

/** A TCP server that counts what each connection sends and, at its end, answers the count. */
export function countingSink(): Server {
  return createServer({ allowHalfOpen: true }, (s) => {
    let n = 0
    s.on('error', () => undefined)
    s.on('data', (c: Buffer) => { n += c.length })
    s.on('end', () => s.end(String(n)))
  })
}

/**
 * Writes `bytes` to a counting sink at `port` (directly or through a tunnel), waits for its count
 * and returns the seconds it took; a count that differs is an error.
 */
export async function pushBytes(port: number, bytes: number): Promise<number> {
  const s = connect({ host: '127.0.0.1', port })
  s.setNoDelay(true)
  await once(s, 'connect')
  const chunk = Buffer.alloc(256 * 1024, 7)
  const started = process.hrtime.bigint()
  const answer = new Promise<string>((resolve) => {
    let text = ''
    s.on('data', (c: Buffer) => { text += c.toString() })
    s.on('end', () => resolve(text))
  })
  let sent = 0
  while (sent < bytes) {
    sent += chunk.length
    if (!s.write(chunk)) await once(s, 'drain')
  }
  s.end()
  const count = Number(await answer)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  s.destroy()
  if (count !== sent) throw new Error(`sink counted ${count} of ${sent} bytes`)
  return seconds
}
