import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createHash, randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { once } from 'node:events'
import { InfluxdbInlet } from '../../src/influxdb/inlet/influxdb-inlet.js'
import { MAX_GATED_BODY_BYTES } from '../../src/influxdb/gate/api-gate.js'
import { CLIENT_BUFFER_BYTES, MAX_RETRY_BODY_BYTES } from '../../src/influxdb/inlet/inlet-limits.js'
import { LEASE_RETRY_MAX_MS, LeaseKeeper, REPLACE_AFTER_401_MIN_MS } from '../../src/influxdb/inlet/lease-keeper.js'
import { silentLogger } from '../../src/log/logger.js'
import { waitFor } from '../helpers.js'
import { inletInFrontOf } from '../support/inlet-under-test.js'
import { TEST_PERMISSIONS } from '../support/test-grants.js'
import { RemoteError } from '../../src/services/rpc.js'

// The inlet as an HTTP/1.1 endpoint, against a target that records every request exactly as it
// arrived: what the client sends must reach the database unchanged but for its credentials, in
// order, whatever the framing (content-length, chunked, pipelined), the method or the size.

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer; connection: number }
const seen: Seen[] = []
/** Tokens the target answers 401 to, as InfluxDB does for an expired or dropped credential. */
const refused = new Set<string>()
let connections = 0
const connectionOf = new WeakMap<Socket, number>()
/** Requests with mode=stall wait here, unread, until the test lets them go. */
const stalled: IncomingMessage[] = []

const target = createServer((req, res) => {
  if (req.url?.includes('mode=stall') === true) {
    stalled.push(req)
    req.pause()
    void drainAndAnswer(req, res)
    return
  }
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), connection: connectionOf.get(req.socket) ?? 0 }
    seen.push(s)
    if (refused.has(req.headers.authorization ?? '')) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"token expired"}')
      return
    }
    const answer = `${s.method} ${s.url} ${s.body.length} ${createHash('sha256').update(s.body).digest('hex')}`
    if (req.url?.includes('mode=cut') === true) {
      // The database dies halfway through its answer.
      res.writeHead(200, { 'content-length': 1000 })
      res.write('0123456789', () => res.socket?.destroy())
      return
    }
    if (req.url?.includes('mode=upstream-close') === true) {
      // This hop ends here, and says so, naming a header of its own hop too.
      res.writeHead(200, { 'content-length': Buffer.byteLength(answer), connection: 'close, x-upstream-hop', 'x-upstream-hop': 'h', 'keep-alive': 'timeout=1' })
      res.end(answer)
      return
    }
    if (req.url?.includes('mode=stream') === true) {
      // An answer of unknown length: chunked on the way back.
      res.writeHead(200, { 'content-type': 'text/plain' })
      for (let i = 0; i < 50; i++) res.write(`${i} ${answer}\n`)
      res.end()
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(answer) })
    res.end(req.method === 'HEAD' ? undefined : answer)
  })
})
target.on('connection', (s: Socket) => connectionOf.set(s, ++connections))
target.listen(0, '127.0.0.1')
await once(target, 'listening')
const targetPort = (target.address() as { port: number }).port

async function drainAndAnswer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  await once(req, 'release')
  const hash = createHash('sha256')
  let n = 0
  for await (const c of req) {
    hash.update(c as Buffer)
    n += (c as Buffer).length
  }
  const answer = `${n} ${hash.digest('hex')}`
  res.writeHead(200, { 'content-length': answer.length }).end(answer)
}

let issued = 0
/** The Host the outlet says its database expects (databaseHost), handed out with each lease. */
const DB_HOST = 'influxdb.internal:8086'
/** Moved on by tests that need the keeper to see time pass (a lease replaced after a 401 is not replaced again for a minute). */
let clockOffset = 0
const leases = new LeaseKeeper(() => {
  issued++
  return Promise.resolve({ id: `l${issued}`, authorization: `Token leased-${issued}`, token: `leased-${issued}`, backend: 'v2', permissions: TEST_PERMISSIONS, expiresAt: Date.now() + 3_600_000, expiresInMs: 3_600_000, host: DB_HOST })
}, silentLogger, () => Date.now() + clockOffset)
const { inlet, host, port } = await inletInFrontOf(target, leases)

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')
/** The digest so far of a hash still being fed. */
const sha256Hex = (h: ReturnType<typeof createHash>): string => h.copy().digest('hex')
const url = (path: string): string => `http://${host}:${port}${path}`

/** Sends raw bytes on one connection and collects `count` answers (each with a content-length or chunked). */
async function rawExchange(bytes: Buffer | string, count: number): Promise<{ status: number; head: string; body: string }[]> {
  const s = connect({ host: host, port })
  await once(s, 'connect')
  let text = ''
  const answers: { status: number; head: string; body: string }[] = []
  const parse = (): void => {
    for (;;) {
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = text.slice(0, end)
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1])
      const length = /\r\ncontent-length: (\d+)/i.exec(head)
      if (length === null) throw new Error(`answer without content-length: ${head}`)
      const total = end + 4 + Number(length[1])
      if (text.length < total) return
      answers.push({ status, head, body: text.slice(end + 4, total) })
      text = text.slice(total)
    }
  }
  s.on('data', (c: Buffer) => {
    text += c.toString('latin1')
    parse()
  })
  s.write(bytes)
  await waitFor(() => answers.length >= count, 10_000, `${count} answers (have ${answers.length})`)
  s.destroy()
  return answers
}

/** Sends raw bytes on a new connection and returns everything that comes back until the inlet ends the connection. */
async function untilEnded(bytes: string): Promise<string> {
  const s = connect({ host, port })
  await once(s, 'connect')
  let text = ''
  s.on('data', (c: Buffer) => { text += c.toString('latin1') })
  s.write(bytes)
  await once(s, 'end')
  s.destroy()
  return text
}

const chunked = (body: Buffer, size = 1000): string => {
  let out = ''
  for (let i = 0; i < body.length; i += size) {
    const part = body.subarray(i, i + size)
    out += `${part.length.toString(16)}\r\n${part.toString('latin1')}\r\n`
  }
  return `${out}0\r\n\r\n`
}

test('every client credential is removed, the lease is injected, and everything else arrives unchanged', async () => {
  const r = await fetch(url('/write?u=admin&db=d&p=secret&precision=s&rp=autogen'), {
    method: 'POST', body: 'm v=1 1', headers: { authorization: 'Token the-clients-own', 'proxy-authorization': 'Basic eDp5', 'x-custom': 'kept', 'content-type': 'text/plain' }
  })
  assert.equal(r.status, 200)
  const s = seen.at(-1)
  assert.equal(s?.url, '/write?db=d&precision=s&rp=autogen')
  assert.equal(s?.headers.authorization, `Token leased-${issued}`)
  // The database's own Host, not the inlet's: an ingress with virtual hosts routes by it.
  assert.equal(s?.headers.host, DB_HOST)
  assert.equal(s?.headers['proxy-authorization'], undefined)
  assert.equal(s?.headers['x-custom'], 'kept')
  assert.equal(s?.headers['content-type'], 'text/plain')
  assert.equal(s?.body.toString(), 'm v=1 1')
})

test("a lease from an outlet that names no database Host leaves the client's Host as it was", async () => {
  const keeper = new LeaseKeeper(() => Promise.resolve({ id: 'old', authorization: 'Token old-outlet', token: 'old-outlet', backend: 'v2', permissions: TEST_PERMISSIONS, expiresAt: Date.now() + 3_600_000, expiresInMs: 3_600_000 }), silentLogger)
  const older = new InfluxdbInlet({ log: silentLogger, from: '127.0.0.1:0', upstream: () => connect({ host: '127.0.0.1', port: targetPort }), leases: keeper, strategy: 'shared' })
  const at = await older.start()
  try {
    assert.equal((await fetch(`http://${at}/ping`)).status, 200)
    assert.equal(seen.at(-1)?.headers.authorization, 'Token old-outlet')
    assert.equal(seen.at(-1)?.headers.host, at)
  } finally {
    await older.stop()
  }
})

test('a lease that cannot go into a request gets the client a 502, never a hang or a crash, and the inlet serves on', { timeout: 10_000 }, async () => {
  const keeper = new LeaseKeeper(() => Promise.resolve({ id: 'bad', authorization: 'Token a\r\nX-Evil: 1', token: 'a', backend: 'v2', permissions: TEST_PERMISSIONS, expiresAt: Date.now() + 3_600_000, expiresInMs: 3_600_000 }), silentLogger)
  const broken = new InfluxdbInlet({ log: silentLogger, from: '127.0.0.1:0', upstream: () => connect({ host: '127.0.0.1', port: targetPort }), leases: keeper, strategy: 'shared' })
  const at = await broken.start()
  const before = seen.length
  try {
    for (const body of [undefined, 'm v=1 1']) {
      const r = await fetch(`http://${at}/write?db=d`, { method: 'POST', ...(body !== undefined ? { body } : {}) })
      assert.equal(r.status, 502)
      assert.doesNotMatch(await r.text(), /X-Evil|Token a/)
    }
    assert.equal(seen.length, before, 'nothing reached the database')
    assert.equal(broken.summary().upstreamErrors, 2)
  } finally {
    await broken.stop()
  }
  assert.equal((await fetch(url('/ping'))).status, 200)
})

test('without a lease the client gets a 503 with the reason and a Retry-After, and the lease manager is not asked again before then', async () => {
  let asked = 0
  const keeper = new LeaseKeeper(() => { asked++; return Promise.reject(new Error('lease refused: policy influxdb-inlet denies')) }, silentLogger)
  const refusing = new InfluxdbInlet({ log: silentLogger, from: '127.0.0.1:0', upstream: () => connect({ host: '127.0.0.1', port: targetPort }), leases: keeper, strategy: 'shared' })
  const at = await refusing.start()
  const before = seen.length
  try {
    for (const again of [false, true]) {
      const r = await fetch(`http://${at}/write?db=d`, { method: 'POST', body: 'm v=1 1' })
      assert.equal(r.status, 503)
      const retryAfter = Number(r.headers.get('retry-after'))
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= Math.ceil(LEASE_RETRY_MAX_MS / 1000), `Retry-After: ${retryAfter}`)
      const { message } = await r.json() as { message: string }
      assert.match(message, again ? /^no database lease could be obtained: lease refused: policy influxdb-inlet denies \(next attempt in \d+ ms\)$/ : /^no database lease could be obtained: lease refused: policy influxdb-inlet denies$/)
    }
    assert.equal(asked, 1)
    assert.equal(seen.length, before, 'a request without a lease reached the database')
  } finally {
    await refusing.stop()
  }
})

test('a lease refused is a 403, a database that does not exist a 404, a cap reached a 503 with Retry-After: each with the outlet\'s reason', async () => {
  for (const [code, status] of [['forbidden', 403], ['lease', 403], ['database-not-found', 404], ['lease-limit', 503], ['database-unavailable', 503]] as const) {
    const keeper = new LeaseKeeper(() => Promise.reject(new RemoteError(code, `the outlet says ${code}`)), silentLogger)
    const inlet = new InfluxdbInlet({ log: silentLogger, from: '127.0.0.1:0', upstream: () => connect({ host: '127.0.0.1', port: targetPort }), leases: keeper, strategy: 'shared' })
    const at = await inlet.start()
    try {
      const r = await fetch(`http://${at}/write?db=d`, { method: 'POST', body: 'm v=1 1' })
      assert.equal(r.status, status, code)
      assert.equal(r.headers.get('retry-after') !== null, status === 503, `Retry-After with ${code}`)
      assert.match((await r.json() as { message: string }).message, new RegExp(`the outlet says ${code}`))
    } finally {
      await inlet.stop()
    }
  }
})

test('hop-by-hop headers stay on their hop: the client\'s are not sent upstream, and the database\'s "Connection: close" does not end the client\'s connection', async () => {
  const [sent] = await rawExchange('POST /write?db=d HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Client-Hop\r\nX-Client-Hop: mine\r\nX-End-To-End: kept\r\nContent-Length: 5\r\n\r\nm v=1', 1)
  assert.equal(sent?.status, 200)
  assert.equal(seen.at(-1)?.headers['x-client-hop'], undefined)
  assert.equal(seen.at(-1)?.headers['x-end-to-end'], 'kept')
  const line = 'm v=2\n'
  const ask = (path: string): string => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${line.length}\r\n\r\n${line}`
  // Pipelined on one client connection: the second is answered after the database closed the first's.
  const answers = await rawExchange(ask('/write?db=d&mode=upstream-close') + ask('/write?db=d'), 2)
  assert.deepEqual(answers.map((a) => a.status), [200, 200])
  assert.equal(answers[1]?.body, `POST /write?db=d ${line.length} ${sha(line)}`)
  assert.doesNotMatch(answers[0]?.head ?? '', /connection: close|x-upstream-hop|keep-alive: timeout=1/i)
})

// With a time limit: the failure this guards against is a client left waiting for ever.
test('an answer cut short by the database is cut short for the client, and the inlet serves on', { timeout: 10_000 }, async () => {
  const errors = inlet.upstreamErrors
  const r = await fetch(url('/ping?mode=cut'))
  assert.equal(r.status, 200)
  await assert.rejects(r.text())
  assert.equal(inlet.upstreamErrors, errors + 1)
  assert.equal((await fetch(url('/write?db=d'), { method: 'POST', body: 'm v=3' })).status, 200)
})

test('Expect: 100-continue (curl sends it with large bodies): the client is told to go on, and the body arrives whole', async () => {
  const body = randomBytes(4096).toString('hex')
  const s = connect({ host: host, port })
  await once(s, 'connect')
  let text = ''
  s.on('data', (c: Buffer) => { text += c.toString('latin1') })
  s.write(`POST /write?db=d&expect=1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`)
  // As curl does, the body waits for the interim answer.
  await waitFor(() => text.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), 5000, '100 Continue')
  s.write(body)
  await waitFor(() => text.includes(sha(body)), 5000, 'the final answer')
  s.destroy()
  assert.match(text, /\r\n\r\nHTTP\/1\.1 200 OK\r\n/)
  assert.equal(seen.at(-1)?.body.toString(), body)
})

test('a body that comes with its request head in one socket read is held while the lease is looked up, without stopping the client socket', async () => {
  // The inlet's own server: nothing outside it can tell a stopped and restarted socket from one that was never stopped.
  const server = (inlet as unknown as { server: Server }).server
  let pauses = 0
  const watch = (socket: Socket): void => { socket.on('pause', () => pauses++) }
  server.on('connection', watch)
  try {
    // Larger than Node's default 16 KiB, as a gzip batch from Telegraf often is; head and body in one write.
    const body = randomBytes(CLIENT_BUFFER_BYTES / 2).toString('hex').slice(0, CLIENT_BUFFER_BYTES - 1024)
    const [answer] = await rawExchange(`POST /write?db=d&one-read=1 HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 1)
    assert.equal(answer?.body, `POST /write?db=d&one-read=1 ${body.length} ${sha(body)}`)
    assert.equal(pauses, 0)
  } finally {
    server.off('connection', watch)
  }
})

test('keep-alive and pipelining: requests sent back to back on one connection are answered in order over one upstream connection', async () => {
  const before = connections
  const n = 20
  const line = (i: number): string => `m v=${i}\n`
  const answers = await rawExchange(Array.from({ length: n }, (_, i) => `POST /write?db=d&i=${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${line(i).length}\r\n\r\n${line(i)}`).join(''), n)
  assert.deepEqual(answers.map((a) => a.status), Array(n).fill(200))
  // Pipelined: answered in the order asked, each with its own body.
  answers.forEach((a, i) => assert.equal(a.body, `POST /write?db=d&i=${i} ${line(i).length} ${sha(line(i))}`))
  assert.ok(connections - before <= 1, `${connections - before} upstream connections for ${n} requests on one client connection`)
})

test('a request that closes its connection is answered, and what was pipelined after it is not taken', async () => {
  const before = seen.length
  const text = await untilEnded('POST /write?db=d&last=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nm v=1POST /write?db=d&after=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nm v=2')
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\nConnection: close\r\n\r\nPOST \/write\?db=d&last=1 5 [0-9a-f]{64}$/)
  assert.deepEqual(seen.slice(before).map((x) => x.url), ['/write?db=d&last=1'])
  assert.equal(inlet.badRequests, 0)
})

test('chunked and content-length bodies arrive byte for byte, on every endpoint and method that may carry a body', async () => {
  const body = randomBytes(5000)
  for (const [method, path] of [['POST', '/write?db=d'], ['POST', '/api/v2/write?bucket=b'], ['POST', '/query?db=d'], ['GET', '/query?db=d'], ['GET', '/ping?x=1']] as const) {
    for (const framing of ['content-length', 'chunked']) {
      const head = `${method} ${path}&f=${framing} HTTP/1.1\r\nHost: x\r\n`
      const request = framing === 'chunked'
        ? `${head}Transfer-Encoding: chunked\r\n\r\n${chunked(body)}`
        : `${head}Content-Length: ${body.length}\r\n\r\n${body.toString('latin1')}`
      // The same request twice on one connection: a body framed wrongly upstream would spill into the next request.
      const answers = await rawExchange(Buffer.from(request + request, 'latin1'), 2)
      for (const a of answers) {
        assert.equal(a.status, 200, `${method} ${framing}: ${a.body}`)
        assert.equal(a.body, `${method} ${path}&f=${framing} ${body.length} ${sha(body)}`, `${method} ${framing}`)
      }
    }
  }
})

test('requests without a body, HEAD among them, and answers of unknown length pass through', async () => {
  const head = await fetch(url('/ping'), { method: 'HEAD' })
  assert.equal(head.status, 200)
  assert.equal(seen.at(-1)?.method, 'HEAD')
  const streamed = await fetch(url('/ping?mode=stream&q=x'))
  const lines = (await streamed.text()).trim().split('\n')
  assert.equal(lines.length, 50)
  assert.match(lines[49] ?? '', /^49 GET \/ping\?mode=stream&q=x 0 /)
})

test('an HTTP/1.0 client gets an answer of unknown length unchunked, ended by the close of its connection', async () => {
  const [head = '', body = ''] = (await untilEnded('GET /ping?mode=stream&v=10 HTTP/1.0\r\n\r\n')).split('\r\n\r\n')
  assert.match(head, /^HTTP\/1\.1 200 OK\r\n/)
  assert.match(head, /\r\nConnection: close$/)
  assert.doesNotMatch(head, /transfer-encoding/i)
  const lines = body.trim().split('\n')
  assert.equal(lines.length, 50)
  assert.match(lines[49] ?? '', /^49 GET \/ping\?mode=stream&v=10 0 /)
})

test('gzip bodies are passed on untouched, with their content-encoding', async () => {
  const plain = Buffer.from(Array.from({ length: 2000 }, (_, i) => `cpu,host=h${i % 7} v=${i} ${i}`).join('\n'))
  const zipped = gzipSync(plain)
  const r = await fetch(url('/api/v2/write?bucket=b'), { method: 'POST', body: zipped, headers: { 'content-encoding': 'gzip' } })
  assert.equal(r.status, 200)
  assert.equal(seen.at(-1)?.headers['content-encoding'], 'gzip')
  assert.equal(sha(seen.at(-1)?.body ?? Buffer.alloc(0)), sha(zipped))
})

test('a large body is streamed, not buffered: a database that does not read stops the client', async (t) => {
  const total = 256 * 1024 * 1024
  const chunk = randomBytes(64 * 1024)
  const s = connect({ host: host, port })
  await once(s, 'connect')
  let answer = ''
  s.on('data', (c: Buffer) => { answer += c.toString() })
  s.write(`POST /write?db=d&mode=stall HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`)
  const hash = createHash('sha256')
  let written = 0
  const writeUntilStalled = async (): Promise<boolean> => {
    while (written < total) {
      hash.update(chunk)
      written += chunk.length
      if (!s.write(chunk)) {
        const drained = await Promise.race([once(s, 'drain').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))])
        if (!drained) return true
      }
    }
    return false
  }
  assert.ok(await writeUntilStalled(), 'the client was never held back: the inlet took the whole body while the database read nothing')
  // Only socket buffers and one stream high-water mark per hop hold data; far below the body.
  t.diagnostic(`${(written / 2 ** 20).toFixed(1)} MiB of a ${total / 2 ** 20} MiB body accepted while the database read nothing`)
  assert.ok(written < 64 * 1024 * 1024, `${written / 2 ** 20} MiB accepted while the database read nothing`)
  await waitFor(() => stalled.length === 1, 5000, 'the stalled request reached the database')
  stalled[0]?.emit('release')
  for (;;) {
    if (!(await writeUntilStalled())) break
  }
  await waitFor(() => answer.includes('\r\n\r\n') && answer.endsWith(sha256Hex(hash)), 60_000, 'the whole body arrived')
  assert.match(answer, new RegExp(`^HTTP/1.1 200 [^]*\r\n\r\n${total} `))
  s.destroy()
})

test('after a 401 the lease is replaced and the request sent once more with the same body; a large body gets the 401', async () => {
  const current = `Token leased-${issued}`
  refused.add(current)
  const body = randomBytes(100_000)
  const retried = (): number => inlet.summary().retriedAfter401 as number
  const retriedBefore = retried()
  const r = await fetch(url('/write?db=d'), { method: 'POST', body })
  assert.equal(r.status, 200)
  const [first, second] = seen.slice(-2)
  assert.equal(first?.headers.authorization, current)
  assert.equal(second?.headers.authorization, `Token leased-${issued}`)
  assert.notEqual(second?.headers.authorization, current)
  assert.equal(sha(second?.body ?? Buffer.alloc(0)), sha(body))
  assert.equal(retried(), retriedBefore + 1)

  // A body larger than the retry copy cannot be sent again: the client gets the 401, and the
  // refused lease is still replaced (a minute later), so the next request goes out with a new one.
  clockOffset += REPLACE_AFTER_401_MIN_MS
  const refusedNow = `Token leased-${issued}`
  refused.add(refusedNow)
  const big = await fetch(url('/write?db=d'), { method: 'POST', body: randomBytes(MAX_RETRY_BODY_BYTES + 1) })
  assert.equal(big.status, 401)
  assert.equal(seen.at(-1)?.headers.authorization, refusedNow)
  const next = await fetch(url('/write?db=d'), { method: 'POST', body: 'm v=1' })
  assert.equal(next.status, 200)
  assert.equal(seen.at(-1)?.headers.authorization, `Token leased-${issued}`)
  assert.notEqual(seen.at(-1)?.headers.authorization, refusedNow)
  assert.equal(retried(), retriedBefore + 1, 'the small request needed no retry')
  clockOffset += REPLACE_AFTER_401_MIN_MS
})

test('a lease the database refuses again at once is not replaced again within a minute: the client gets the 401', async () => {
  const before = issued
  refused.add(`Token leased-${issued}`)
  const first = await fetch(url('/write?db=d'), { method: 'POST', body: 'm v=1' })
  assert.equal(first.status, 200, 'the first refusal replaces the lease')
  refused.add(`Token leased-${issued}`)
  for (let i = 0; i < 5; i++) assert.equal((await fetch(url('/write?db=d'), { method: 'POST', body: 'm v=1' })).status, 401)
  assert.equal(issued, before + 1, 'one new lease, not one per request')
  clockOffset += REPLACE_AFTER_401_MIN_MS
  assert.equal((await fetch(url('/write?db=d'), { method: 'POST', body: 'm v=1' })).status, 200)
  assert.equal(issued, before + 2)
})

/** Writes from a given client address; returns the credential the database saw. */
async function leaseSeenFrom(inletHost: string, inletPort: number, localAddress: string): Promise<string> {
  const r = await new Promise<IncomingMessage>((resolve, reject) => {
    request({ host: inletHost, port: inletPort, path: '/write?db=d', method: 'POST', localAddress, agent: false }, resolve).on('error', reject).end('m v=1')
  })
  r.resume()
  await once(r, 'end')
  assert.equal(r.statusCode, 200)
  return seen.at(-1)?.headers.authorization ?? ''
}

test('per-client strategy: each client address gets a lease of its own; shared gives everyone one', async () => {
  const perClient = new InfluxdbInlet({ log: silentLogger, from: '127.0.0.1:0', upstream: () => connect({ host: '127.0.0.1', port: targetPort }), leases, strategy: 'per-client' })
  const [h, p] = (await perClient.start()).split(':')
  try {
    const a = await leaseSeenFrom(h ?? '', Number(p), '127.0.0.2')
    const b = await leaseSeenFrom(h ?? '', Number(p), '127.0.0.3')
    assert.notEqual(a, b, 'two client addresses shared a lease')
    assert.equal(await leaseSeenFrom(h ?? '', Number(p), '127.0.0.2'), a, 'a client address got a new lease for its second request')
    assert.equal(await leaseSeenFrom(host, port, '127.0.0.2'), await leaseSeenFrom(host, port, '127.0.0.3'))
  } finally {
    await perClient.stop()
  }
})

test('a request outside the lease is answered by the inlet and never reaches the database', async () => {
  const before = seen.length
  const cases: [string, number][] = [
    ['GET /debug/vars HTTP/1.1\r\nHost: x\r\n\r\n', 403],
    ['GET /debug/pprof/cmdline HTTP/1.1\r\nHost: x\r\n\r\n', 403],
    ['POST /write?db=secret HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nm v=1', 403],
    ['GET /query?db=d&q=CREATE+CONTINUOUS+QUERY+c+ON+d+BEGIN+SELECT+max(v)+INTO+d.autogen.x+FROM+secret.autogen.p+GROUP+BY+time(1s)+END HTTP/1.1\r\nHost: x\r\n\r\n', 403],
    ['PUT /write?db=d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nm v=1', 405]
  ]
  for (const [request, expected] of cases) {
    const [a] = await rawExchange(request, 1)
    assert.equal(a?.status, expected, request)
    assert.match(a?.body ?? '', /"code":/)
  }
  const form = 'q=SELECT+*+FROM+m&q=DROP+DATABASE+d'
  const [f] = await rawExchange(`POST /query?db=d HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`, 1)
  assert.equal(f?.status, 403)
  assert.match(f?.body ?? '', /DROP DATABASE/)
  assert.equal(seen.length, before, 'a refused request reached the database')
  assert.ok(inlet.summary().refused as number >= cases.length + 1)
})

test('a query in a form body is read whole, judged, and then sent on byte for byte, however it is split', async () => {
  const form = `db=d&q=${encodeURIComponent(`SELECT * FROM m WHERE t = '${'x'.repeat(200_000)}'`)}`
  const s = connect({ host, port })
  await once(s, 'connect')
  let text = ''
  s.on('data', (c: Buffer) => { text += c.toString('latin1') })
  s.write(`POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n`)
  for (let i = 0; i < form.length; i += 7000) {
    s.write(form.slice(i, i + 7000))
    await new Promise((r) => setImmediate(r))
  }
  await waitFor(() => text.includes(sha(form)), 10_000, 'the answer to the gated query')
  s.destroy()
  assert.equal(seen.at(-1)?.body.toString(), form)
})

test('a query body held to be judged is limited: at MAX_GATED_BODY_BYTES it goes, one byte more gets 413 and reaches nothing', async () => {
  // A query is at most 262,144 characters: the rest of the body is another parameter, which the server ignores.
  const formOf = (bytes: number): string => {
    const head = 'db=d&q=SELECT+*+FROM+m&pad='
    return head + 'x'.repeat(bytes - head.length)
  }
  const post = (form: string): string => `POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`
  const atLimit = formOf(MAX_GATED_BODY_BYTES)
  const [ok] = await rawExchange(post(atLimit), 1)
  assert.equal(ok?.status, 200, ok?.body)
  assert.equal(seen.at(-1)?.body.length, MAX_GATED_BODY_BYTES)
  const before = seen.length
  const [tooLarge] = await rawExchange(post(formOf(MAX_GATED_BODY_BYTES + 1)), 1)
  assert.equal(tooLarge?.status, 413)
  assert.match(tooLarge?.body ?? '', new RegExp(`limited to ${MAX_GATED_BODY_BYTES} bytes`))
  assert.equal(seen.length, before, 'the refused query reached the database')
})

test('an absolute-form target goes upstream as a path, and an HTTP/0.9 request gets 400', async () => {
  const [a] = await rawExchange('POST http://evil.example:9999/write?db=d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nm v=1', 1)
  assert.equal(a?.status, 200)
  assert.equal(seen.at(-1)?.url, '/write?db=d')
  const before = seen.length
  const text = await untilEnded('GET /write?db=d\r\n\r\n')
  assert.match(text, /^HTTP\/1\.1 400 /)
  assert.equal(seen.length, before)
})
