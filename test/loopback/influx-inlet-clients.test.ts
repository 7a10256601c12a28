import { after, mock, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import { InfluxdbInlet } from '../../src/influxdb/inlet/influxdb-inlet.js'
import { MAX_HEADER_BYTES, UPSTREAM_SOCKETS } from '../../src/influxdb/inlet/inlet-limits.js'
import { HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS } from '../../src/influxdb/inlet/inlet-limits.js'
import { LeaseKeeper } from '../../src/influxdb/inlet/lease-keeper.js'
import { silentLogger } from '../../src/log/logger.js'
import { waitFor } from '../helpers.js'
import { TEST_PERMISSIONS } from '../support/test-grants.js'

// Clients that misbehave at the HTTP level, against the influxdb inlet alone (its upstream is a
// plain HTTP target here, no portal): whatever they do, the inlet keeps serving everyone else.

const seen: string[] = []
const target: Server = createServer((req, res) => {
  seen.push(req.headers.authorization ?? '')
  req.resume()
  req.on('end', () => res.writeHead(204).end())
})
target.listen(0, '127.0.0.1')
await once(target, 'listening')
const targetPort = (target.address() as { port: number }).port
const open = new Set<Socket>()
target.on('connection', (s: Socket) => {
  open.add(s)
  s.on('close', () => open.delete(s))
})

const leases = new LeaseKeeper(() => Promise.resolve({ id: 'l1', authorization: 'Token leased', token: 'leased', backend: 'v2', permissions: TEST_PERMISSIONS, expiresAt: Date.now() + 3_600_000, expiresInMs: 3_600_000 }), silentLogger)
const inlet = new InfluxdbInlet({ log: silentLogger, from: '127.0.0.1:0', upstream: () => connect({ host: '127.0.0.1', port: targetPort }), leases, strategy: 'shared' })
const [host, port] = (await inlet.start()).split(':')
after(async () => {
  await inlet.stop()
  target.closeAllConnections()
  target.close()
})

async function write(body: string): Promise<number> {
  const r = await fetch(`http://${host ?? ''}:${port ?? ''}/write?db=d`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) })
  return r.status
}

/** Opens a connection, sends `bytes`, then resets it (RST, not FIN), as a client that crashes does. */
async function sendAndReset(bytes: string): Promise<void> {
  const s = connect({ host: host ?? '', port: Number(port) })
  s.on('error', () => undefined)
  await once(s, 'connect')
  s.write(bytes)
  await new Promise((r) => setTimeout(r, 5))
  s.resetAndDestroy()
}

/** Opens a connection, sends `bytes`, then ends it (FIN) without finishing the request. */
async function sendAndEnd(bytes: string): Promise<void> {
  const s = connect({ host: host ?? '', port: Number(port) })
  s.on('error', () => undefined)
  await once(s, 'connect')
  s.end(bytes)
  await once(s, 'close', { signal: AbortSignal.timeout(10_000) }).catch(() => { throw new Error('the inlet kept open a connection the client ended halfway through a request') })
}

test('clients that reset or hang up halfway through their request body do not use up the upstream connections', async () => {
  assert.equal(await write('m v=1'), 204)
  const clients = UPSTREAM_SOCKETS + 10
  const halfSent = 'POST /write?db=d HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nm v=1\n'
  for (let i = 0; i < clients; i++) await (i % 2 === 0 ? sendAndReset(halfSent) : sendAndEnd(halfSent))
  // Each half-sent request is abandoned upstream too: the target sees those connections close.
  await waitFor(() => open.size <= 4, 10_000, `upstream connections closed (${open.size} open)`)
  assert.equal(await write('m v=2'), 204)
  assert.equal(inlet.summary().badRequests, 0, 'a client that left is no malformed request')
  assert.equal(inlet.summary().upstreamErrors, 0, 'abandoning an upstream request is no upstream failure')
})

test('headers larger than the limit get 431 and a closed connection; nothing is forwarded', async () => {
  const before = seen.length
  const s = connect({ host: host ?? '', port: Number(port) })
  await once(s, 'connect')
  let answer = ''
  s.on('data', (c: Buffer) => { answer += c.toString() })
  s.on('error', () => undefined)
  s.write(`POST /write?db=d HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(MAX_HEADER_BYTES + 1)}\r\nContent-Length: 5\r\n\r\nm v=1`)
  await once(s, 'close')
  assert.match(answer, /^HTTP\/1.1 431 Request Header Fields Too Large/)
  assert.equal(seen.length, before)
  assert.equal(await write('m v=3'), 204)
})

test('a request still waiting for its lease is never sent once bad bytes pipelined after it get the connection refused', async () => {
  let release: () => void = () => undefined
  const slowLease = new LeaseKeeper(() => new Promise((resolve) => {
    release = () => resolve({ id: 'slow', authorization: 'Token slow', token: 'slow', backend: 'v2', permissions: TEST_PERMISSIONS, expiresAt: Date.now() + 3_600_000, expiresInMs: 3_600_000 })
  }), silentLogger)
  const waiting = new InfluxdbInlet({ log: silentLogger, from: '127.0.0.1:0', upstream: () => connect({ host: '127.0.0.1', port: targetPort }), leases: slowLease, strategy: 'shared' })
  const [h, p] = (await waiting.start()).split(':')
  try {
    const before = seen.length
    const s = connect({ host: h ?? '', port: Number(p) })
    let answer = ''
    s.on('data', (c: Buffer) => { answer += c.toString() })
    s.on('error', () => undefined)
    await once(s, 'connect')
    s.write('POST /write?db=d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nm v=1\x00\x01 not HTTP\r\n\r\n')
    await once(s, 'close')
    assert.match(answer, /^HTTP\/1.1 400 /)
    release()
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(seen.length, before, 'the refused connection\'s request reached the database')
    assert.equal(waiting.summary().upstreamErrors, 0)
  } finally {
    await waiting.stop()
  }
})

test('a client that goes away while its answer streams releases the upstream connection', async () => {
  const slow = createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain' })
    const timer = setInterval(() => res.write('x'.repeat(1024)), 5)
    res.on('close', () => clearInterval(timer))
  })
  slow.listen(0, '127.0.0.1')
  await once(slow, 'listening')
  const slowOpen = new Set<Socket>()
  slow.on('connection', (s: Socket) => {
    slowOpen.add(s)
    s.on('close', () => slowOpen.delete(s))
  })
  const streaming = new InfluxdbInlet({ log: silentLogger, from: '127.0.0.1:0', upstream: () => connect({ host: '127.0.0.1', port: (slow.address() as { port: number }).port }), leases, strategy: 'shared' })
  const [h, p] = (await streaming.start()).split(':')
  try {
    for (let i = 0; i < 5; i++) {
      const controller = new AbortController()
      const r = await fetch(`http://${h ?? ''}:${p ?? ''}/query?db=d&q=SELECT%20*%20FROM%20m`, { signal: controller.signal })
      assert.equal(r.status, 200)
      controller.abort()
    }
    await waitFor(() => slowOpen.size === 0, 10_000, `upstream connections closed (${slowOpen.size} open)`)
    assert.equal(streaming.summary().upstreamErrors, 0)
  } finally {
    await streaming.stop()
    slow.closeAllConnections()
    slow.close()
  }
})

/** A connection to the inlet that records what comes back and when it closes. */
async function rawClient(): Promise<{ socket: Socket; text: () => string; closed: () => boolean }> {
  const socket = connect({ host: host ?? '', port: Number(port) })
  let text = ''
  let closed = false
  socket.on('data', (c: Buffer) => { text += c.toString('latin1') })
  socket.on('error', () => undefined)
  socket.on('close', () => { closed = true })
  await once(socket, 'connect')
  return { socket, text: () => text, closed: () => closed }
}

test('a request that asks to switch protocols (curl --http2 on http://) is served as plain HTTP/1.1, and so is the next on its connection', async () => {
  const before = seen.length
  const c = await rawClient()
  c.socket.write('GET /ping HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => c.text().split('HTTP/1.1 204').length === 3, 5000, `two answers (have ${c.text()})`)
  assert.doesNotMatch(c.text(), /101|upgrade/i)
  assert.equal(seen.length, before + 2)
  c.socket.destroy()
})

test('CONNECT gets 405 and an expectation other than 100-continue gets 417, each on a closed connection; nothing is forwarded', async () => {
  const before = seen.length
  for (const [ask, status] of [['CONNECT influxdb:8086 HTTP/1.1\r\nHost: influxdb:8086\r\n\r\n', 405], ['POST /write?db=d HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 5\r\n\r\nm v=1', 417]] as const) {
    const c = await rawClient()
    c.socket.write(ask)
    await waitFor(c.closed, 5000, 'the connection closed')
    assert.match(c.text(), new RegExp(`^HTTP/1.1 ${status} `))
  }
  assert.equal(seen.length, before)
})

// With a time limit: with the clock mocked, waitFor's own deadline does not pass.
test('an idle connection is closed after the keep-alive time its answers announce, and a head that never ends gets 408', { timeout: 20_000 }, async (t) => {
  t.after(() => mock.timers.reset())
  mock.timers.enable({ apis: ['Date'], now: Date.now() })
  const idle = await rawClient()
  idle.socket.write('POST /write?db=d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nm v=1')
  await waitFor(() => idle.text().includes('\r\n\r\n'), 5000, 'the answer')
  assert.match(idle.text(), new RegExp(`Keep-Alive: timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}\r\n`))
  const slow = await rawClient()
  slow.socket.write('POST /write?db=d HTTP/1.1\r\nHost: x\r\n')
  mock.timers.tick(KEEP_ALIVE_TIMEOUT_MS + 1)
  await waitFor(idle.closed, 5000, 'the idle connection closed')
  assert.equal(slow.closed(), false, 'a head still within its time was cut')
  mock.timers.tick(HEADERS_TIMEOUT_MS + 1)
  await waitFor(slow.closed, 5000, 'the slow head refused')
  assert.match(slow.text(), /^HTTP\/1.1 408 /)
  assert.equal(await write('m v=4'), 204)
})
