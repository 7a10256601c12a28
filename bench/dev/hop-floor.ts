// Development aid, not a benchmark of record: the least CPU a Node process can spend per GiB to
// carry a TCP stream as AES-256-GCM messages of one portal chunk, with nothing else (no routing,
// no channel, no flow control). Two child processes, an encrypting hop and a decrypting hop, run
// with the flags every Portico node gets; compare their CPU s per GiB with the inlet's and the
// outlet's in bench:portal (c). Run: node --import tsx bench/dev/hop-floor.ts
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { cpuSeconds } from '../../test/support/processes.js'
import { NODE_V8_FLAGS } from '../../src/cli/node-flags.js'
import { PORTAL_CHUNK_BYTES } from '../../src/portal/portal-message.js'
import { shiftParts } from '../../src/encoding/parts.js'
import { countingSink, pushBytes } from '../lib/bulk.js'

const BYTES = Number(process.env.BENCH_BULK_MIB ?? 2048) * 2 ** 20
const TAG = 16
const key = Buffer.alloc(32, 1)

function iv(n: number): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt32BE(n, 8)
  return b
}

/** Reads plaintext, writes `u32 length ‖ ciphertext ‖ tag` messages of at most one chunk. */
function encrypting(client: Socket, next: Socket): void {
  const pending: Buffer[] = []
  let pendingBytes = 0
  let n = 0
  let queued = false
  const send = (bytes: number): void => {
    const c = createCipheriv('aes-256-gcm', key, iv(n++))
    const out = shiftParts(pending, bytes).map((p) => c.update(p))
    pendingBytes -= bytes
    c.final()
    const head = Buffer.allocUnsafe(4)
    head.writeUInt32BE(bytes + TAG)
    next.cork()
    for (const b of [head, ...out, c.getAuthTag()]) next.write(b)
    next.uncork()
  }
  client.on('data', (d: Buffer) => {
    pending.push(d)
    pendingBytes += d.byteLength
    while (pendingBytes >= PORTAL_CHUNK_BYTES) send(PORTAL_CHUNK_BYTES)
    if (pendingBytes > 0 && !queued) {
      queued = true
      setImmediate(() => { queued = false; if (pendingBytes > 0) send(pendingBytes) })
    }
  })
  client.on('end', () => { if (pendingBytes > 0) send(pendingBytes); next.end() })
}

/** Reads those messages, writes the plaintext on. */
function decrypting(client: Socket, next: Socket): void {
  let held: Buffer = Buffer.alloc(0)
  let n = 0
  client.on('data', (d: Buffer) => {
    held = held.byteLength === 0 ? d : Buffer.concat([held, d])
    while (held.byteLength >= 4 && held.byteLength >= 4 + held.readUInt32BE(0)) {
      const end = 4 + held.readUInt32BE(0)
      const dc = createDecipheriv('aes-256-gcm', key, iv(n++))
      dc.setAuthTag(held.subarray(end - TAG, end))
      next.write(dc.update(held.subarray(4, end - TAG)))
      dc.final()
      held = held.subarray(end)
    }
  })
  client.on('end', () => next.end())
}

if (process.argv[2] === 'hop') {
  const role = process.argv[3] === 'enc' ? encrypting : decrypting
  const to = Number(process.argv[4])
  const server = createServer({ allowHalfOpen: true }, (c) => {
    const next = connect({ host: '127.0.0.1', port: to, allowHalfOpen: true })
    next.on('data', (d: Buffer) => c.write(d))
    next.on('end', () => c.end())
    role(c, next)
  })
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port))
} else {
  const sink = countingSink()
  sink.listen(0, '127.0.0.1')
  await once(sink, 'listening')
  const hop = async (role: string, to: number): Promise<{ pid: number; port: number; kill: () => void }> => {
    const child = fork(new URL(import.meta.url).pathname, ['hop', role, String(to)], { execArgv: [...NODE_V8_FLAGS, '--import', 'tsx'] })
    const [port] = await once(child, 'message') as [number]
    return { pid: child.pid ?? 0, port, kill: () => child.kill() }
  }
  const dec = await hop('dec', (sink.address() as AddressInfo).port)
  const enc = await hop('enc', dec.port)
  for (let round = 0; round < 4; round++) {
    const before = [cpuSeconds(enc.pid), cpuSeconds(dec.pid)]
    const seconds = await pushBytes(enc.port, BYTES)
    const gib = BYTES / 2 ** 30
    const [e, d] = [cpuSeconds(enc.pid) - (before[0] ?? 0), cpuSeconds(dec.pid) - (before[1] ?? 0)].map((c) => (c / gib).toFixed(3))
    console.log(`round ${round}: ${((BYTES * 8) / seconds / 1e9).toFixed(2)} Gbit/s, encrypting hop ${e} CPU s/GiB, decrypting hop ${d} CPU s/GiB`)
  }
  enc.kill()
  dec.kill()
  sink.close()
}
