// Development aid, not a benchmark of record: what a Node process spends per GiB to forward a TCP
// stream, by how it reads: Node's own `data` events (libuv reads of 64 KiB into a fresh buffer
// each), or `onread` into a buffer of its own of 64 KiB or 256 KiB, each read copied out before
// it is written on (the buffer is reused at once). `onread` exists only for connections a process
// makes, so the forwarding process here connects out to both ends. The stream arrives in 325 KiB
// writes, as 5000-point InfluxDB bodies do. Run: node --import tsx bench/dev/read-size.ts
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { NODE_V8_FLAGS } from '../../src/cli/node-flags.js'
import { countingSink } from '../lib/bulk.js'
import { report } from '../lib/report.js'

const BYTES = Number(process.env.BENCH_BULK_MIB ?? 1024) * 2 ** 20
const WRITE_BYTES = 325 * 1024
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const WAYS = [['data', 0], ['onread', 64 * 1024], ['onread', 256 * 1024]] as const

/** The forwarding process: reads from `source`, writes to `sink`, says what CPU and how many reads it took. */
async function forward(way: string, bufferBytes: number, source: number, sink: number): Promise<void> {
  const out = connect({ host: '127.0.0.1', port: sink })
  out.setNoDelay(true)
  await once(out, 'connect')
  let reads = 0
  let src: Socket
  const onChunk = (chunk: Buffer): void => {
    reads++
    if (!out.write(chunk)) {
      src.pause()
      out.once('drain', () => src.resume())
    }
  }
  if (way === 'data') {
    src = connect({ host: '127.0.0.1', port: source })
    src.on('data', onChunk)
  } else {
    const buffer = Buffer.allocUnsafe(bufferBytes)
    src = connect({
      host: '127.0.0.1', port: source,
      // Returning true keeps reading; backpressure pauses the socket itself.
      onread: { buffer, callback: (n: number, b: Uint8Array) => { onChunk(Buffer.from(b.subarray(0, n))); return true } }
    })
  }
  // Counted from here: the process's start (tsx compiling this file) is no part of forwarding.
  const started = process.cpuUsage()
  src.on('end', () => out.end())
  out.on('data', () => undefined)
  out.on('end', () => {
    const used = process.cpuUsage(started)
    process.send?.([(used.user + used.system) / 1e6, reads])
  })
}

async function round(way: string, bufferBytes: number): Promise<{ cpu: number; reads: number }> {
  const sink = countingSink()
  sink.listen(0, '127.0.0.1')
  await once(sink, 'listening')
  const source = createServer((s) => {
    void (async () => {
      const piece = Buffer.alloc(WRITE_BYTES, 7)
      for (let sent = 0; sent < BYTES; sent += WRITE_BYTES) {
        if (!s.write(piece)) await once(s, 'drain')
      }
      s.end()
    })()
  })
  source.listen(0, '127.0.0.1')
  await once(source, 'listening')
  const ports = [source, sink].map((s) => String((s.address() as AddressInfo).port))
  const child = fork(new URL(import.meta.url).pathname, ['forward', way, String(bufferBytes), ...ports], { execArgv: [...NODE_V8_FLAGS, '--import', 'tsx'] })
  const [[cpu, reads]] = await once(child, 'message') as [[number, number]]
  child.kill()
  sink.close()
  source.close()
  return { cpu: cpu / (BYTES / 2 ** 30), reads }
}

if (process.argv[2] === 'forward') {
  const [way, bufferBytes, source, sink] = process.argv.slice(3)
  await forward(way ?? 'data', Number(bufferBytes), Number(source), Number(sink))
} else {
  const rows: Record<string, string | number>[] = []
  for (let r = 0; r < ROUNDS; r++) {
    for (const [way, bufferBytes] of WAYS) {
      const { cpu, reads } = await round(way, bufferBytes)
      rows.push({ round: r, reads: way === 'data' ? 'data events' : `onread, ${bufferBytes / 1024} KiB buffer`, 'CPU s/GiB': Number(cpu.toFixed(3)), 'reads per MiB': Number((reads / (BYTES / 2 ** 20)).toFixed(1)) })
    }
  }
  report('read-size', rows, { unit: `forwarding process, ${BYTES / 2 ** 20} MiB in ${WRITE_BYTES / 1024} KiB writes` })
  process.exit(0)
}
