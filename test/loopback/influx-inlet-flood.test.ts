import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { LeaseKeeper } from '../../src/influxdb/inlet/lease-keeper.js'
import { BODY_IDLE_TIMEOUT_MS, UPSTREAM_SOCKETS_PER_ADDRESS } from '../../src/influxdb/inlet/inlet-limits.js'
import { silentLogger } from '../../src/log/logger.js'
import { inletInFrontOf } from '../support/inlet-under-test.js'
import { TEST_PERMISSIONS } from '../support/test-grants.js'
import { waitFor } from '../helpers.js'

// A slow-body flood (finding 3 of the insider attack): connections that send a head with a large
// Content-Length and then trickle their body must not keep a normal client from the database.

let upstreamOpen = 0
let upstreamMax = 0
const target = createServer((req, res) => {
  req.resume()
  req.on('end', () => res.writeHead(204).end())
})
target.on('connection', (s: Socket) => {
  upstreamMax = Math.max(upstreamMax, ++upstreamOpen)
  s.on('close', () => upstreamOpen--)
})
target.listen(0, '127.0.0.1')
await once(target, 'listening')
const keeper = new LeaseKeeper(() => Promise.resolve({ id: 'l1', authorization: 'Token t', token: 't', backend: 'v2', permissions: TEST_PERMISSIONS, expiresAt: Date.now() + 3_600_000, expiresInMs: 3_600_000 }), silentLogger)
const { host, port } = await inletInFrontOf(target, keeper)

const flood: Socket[] = []
after(() => { for (const s of flood) s.destroy() })

/** Opens `n` connections from 127.0.0.2 that each send a head, `first` bytes of body, then a byte every `everyMs`. */
async function startFlood(n: number, first: number, everyMs: number): Promise<() => void> {
  const sockets: Socket[] = []
  for (let i = 0; i < n; i++) {
    const s = connect({ host, port, localAddress: '127.0.0.2' })
    s.on('error', () => undefined)
    await once(s, 'connect')
    s.write(`POST /write?db=d HTTP/1.1\r\nHost: x\r\nContent-Length: ${first + 100_000}\r\n\r\n${'x'.repeat(first)}`)
    sockets.push(s)
    flood.push(s)
  }
  const timer = setInterval(() => { for (const s of sockets) if (!s.destroyed) s.write('x') }, everyMs)
  return () => {
    clearInterval(timer)
    for (const s of sockets) s.destroy()
  }
}

/** A normal client's writes from 127.0.0.1, one after another: their latencies in ms. */
async function normalWrites(n: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const status = await new Promise<number>((resolve, reject) => {
      request({ host, port, path: '/write?db=d', method: 'POST', localAddress: '127.0.0.1', agent: false, timeout: 10_000 }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      }).on('error', reject).on('timeout', () => reject(new Error('timed out'))).end('m v=1')
    })
    assert.equal(status, 204)
    times.push(performance.now() - t0)
  }
  return times
}

const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.99) - 1] ?? NaN

test('300 connections trickling small bodies hold no upstream connection: a normal client is served throughout', async (t) => {
  const stop = await startFlood(300, 0, 2000)
  upstreamMax = upstreamOpen
  const times = await normalWrites(200)
  // Every trickler is still open, and none took a connection to the database.
  assert.ok(upstreamMax <= 2, `upstream connections during the flood: ${upstreamMax}`)
  t.diagnostic(`slow-body flood (300 small bodies): normal client p99 ${p99(times).toFixed(2)} ms over ${times.length} writes`)
  stop()
})

test('300 connections that send 64 KiB and then trickle hold at most their address\'s share of upstream connections', async (t) => {
  const stop = await startFlood(300, 70_000, 2000)
  await waitFor(() => upstreamOpen >= UPSTREAM_SOCKETS_PER_ADDRESS, 10_000, `the flood took its share (${upstreamOpen})`)
  const times = await normalWrites(200)
  assert.ok(upstreamOpen <= UPSTREAM_SOCKETS_PER_ADDRESS + 2, `upstream connections during the flood: ${upstreamOpen}`)
  t.diagnostic(`slow-body flood (300 bodies past 64 KiB): normal client p99 ${p99(times).toFixed(2)} ms over ${times.length} writes`)
  stop()
})

test('a body with no byte for the body idle time-out gets 408 and its connection closed', async () => {
  const s = connect({ host, port })
  await once(s, 'connect')
  let text = ''
  s.on('data', (c: Buffer) => { text += c.toString() })
  s.write('POST /write?db=d HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nm v=1')
  const t0 = Date.now()
  await once(s, 'close')
  assert.match(text, /^HTTP\/1\.1 408 /)
  assert.ok(Date.now() - t0 >= BODY_IDLE_TIMEOUT_MS - 1000)
})
