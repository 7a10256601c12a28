import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { once } from 'node:events'
import fc from 'fast-check'
import { LeaseKeeper } from '../../src/influxdb/inlet/lease-keeper.js'
import { silentLogger } from '../../src/log/logger.js'
import { waitFor } from '../helpers.js'
import { inletInFrontOf } from '../support/inlet-under-test.js'
import { TEST_PERMISSIONS } from '../support/test-grants.js'

// The inlet against generated traffic: whatever mix of methods, targets, headers, bodies and
// framings a client pipelines on one connection, the database gets each request in order, byte for
// byte, with no credential of the client's and the lease in their place; and whatever bytes a client
// sends instead, nothing malformed is forwarded and the inlet serves on.

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }
const seen: Seen[] = []
const target = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) })
    const answer = `answer ${seen.length}`
    res.writeHead(200, { 'content-length': answer.length }).end(answer)
  })
})
target.listen(0, '127.0.0.1')
await once(target, 'listening')
const LEASE = 'Token leased-property'
const { host, port } = await inletInFrontOf(target, new LeaseKeeper(() => Promise.resolve({ id: 'l1', authorization: LEASE, token: 'leased-property', backend: 'v2', permissions: TEST_PERMISSIONS, expiresAt: Date.now() + 3_600_000, expiresInMs: 3_600_000 }), silentLogger))

/**
 * Sends the pieces on one connection and collects what comes back: until `answers` answers have
 * come, or else until the inlet closes the connection after the client half-closes it.
 */
async function exchange(pieces: readonly Buffer[], answers?: number): Promise<string> {
  const s = connect({ host: host, port })
  await once(s, 'connect')
  let text = ''
  let closed = false
  s.on('data', (c: Buffer) => { text += c.toString('latin1') })
  s.on('error', () => undefined)
  s.on('close', () => { closed = true })
  for (const p of pieces) s.write(p)
  if (answers === undefined) {
    s.end()
    await waitFor(() => closed, 5000, 'the inlet closed the connection')
  } else {
    await waitFor(() => [...text.matchAll(/answer \d+/g)].length >= answers || closed, 5000, `${answers} answers (have: ${text})`)
    s.destroy()
  }
  return text
}

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/)
const headerValue = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/)
const credentialName = fc.constantFrom('Authorization', 'authorization', 'AUTHORIZATION', 'Proxy-Authorization', 'proxy-authorization')
const param = fc.oneof(fc.constantFrom('u=someone', 'p=secret', '%75=someone', '%70=secret').map((p) => ({ p, credential: true })), fc.tuple(token, token).map(([k, v]) => ({ p: `x${k}=${v}`, credential: false })))
const request = fc.record({
  // The API the inlet forwards, each path with a method it takes.
  endpoint: fc.constantFrom(['POST', '/write'], ['GET', '/query'], ['POST', '/query'], ['POST', '/api/v2/write'], ['GET', '/ping']),
  params: fc.array(param, { maxLength: 4 }),
  credentials: fc.array(fc.tuple(credentialName, headerValue), { maxLength: 2 }),
  others: fc.uniqueArray(fc.tuple(token.map((t) => `x-${t}`), headerValue), { maxLength: 4, selector: ([n]) => n }),
  body: fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b)),
  chunkedIn: fc.option(fc.integer({ min: 1, max: 1500 }), { nil: undefined })
})
type Req = typeof request extends fc.Arbitrary<infer T> ? T : never

function encode(r: Req): Buffer {
  const query = r.params.map((x) => x.p).join('&')
  const lines = [`${r.endpoint[0]} ${r.endpoint[1]}${query === '' ? '' : `?${query}`} HTTP/1.1`, 'Host: inlet']
  for (const [n, v] of [...r.credentials, ...r.others]) lines.push(`${n}: ${v}`)
  let body: Buffer = r.body
  if (r.chunkedIn !== undefined) {
    lines.push('Transfer-Encoding: chunked')
    const parts: Buffer[] = []
    for (let i = 0; i < r.body.length; i += r.chunkedIn) {
      const part = r.body.subarray(i, i + r.chunkedIn)
      parts.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n'))
    }
    body = Buffer.concat([...parts, Buffer.from('0\r\n\r\n')])
  } else {
    lines.push(`Content-Length: ${r.body.length}`)
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body])
}

/** The names of a target's query parameters as a server decodes them (Go before 1.17 also splits at `;`). */
function queryNames(url: string): string[] {
  const q = url.indexOf('?')
  if (q < 0) return []
  return url.slice(q + 1).split(/[&;]/).map((pair) => {
    const raw = pair.split('=')[0]?.replaceAll('+', ' ') ?? ''
    try {
      return decodeURIComponent(raw)
    } catch {
      return raw
    }
  })
}

/** The bytes cut at the given points, so requests and their heads and bodies arrive split anywhere. */
function cut(bytes: Buffer, at: readonly number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let from = 0
  for (const p of points) {
    if (p > from) out.push(bytes.subarray(from, p))
    from = Math.max(from, p)
  }
  out.push(bytes.subarray(from))
  return out
}

test('pipelined requests of any shape reach the database in order and whole, with the lease in place of every client credential', async () => {
  await fc.assert(fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), async (requests, cuts) => {
    const before = seen.length
    const answers = await exchange(cut(Buffer.concat(requests.map(encode)), cuts), requests.length)
    assert.equal(seen.length - before, requests.length)
    for (const [i, r] of requests.entries()) {
      const s = seen[before + i]
      assert.ok(s !== undefined)
      assert.equal(s.method, r.endpoint[0])
      const kept = r.params.filter((x) => !x.credential).map((x) => x.p).join('&')
      assert.equal(s.url, `${r.endpoint[1]}${kept === '' ? '' : `?${kept}`}`)
      assert.ok(s.body.equals(r.body), 'the body changed on the way')
      assert.equal(s.headers.authorization, LEASE)
      assert.equal(s.headers['proxy-authorization'], undefined)
      for (const [n, v] of r.others) assert.equal(s.headers[n], v)
      assert.equal(s.headers['content-length'], r.chunkedIn === undefined ? String(r.body.length) : undefined)
    }
    // Answers follow each other with nothing between them: the database's are all 'answer N'.
    const statuses = [...answers.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1])
    assert.deepEqual(statuses, requests.map(() => '200'))
    const bodies = [...answers.matchAll(/answer (\d+)/g)].map((m) => Number(m[1]))
    assert.deepEqual(bodies, requests.map((_, i) => before + i + 1), 'answers out of order')
  }), { numRuns: 60 })
})

test('bytes that are no HTTP, or a valid request with one byte changed, are refused or forwarded well-formed; never with a client credential, and the inlet serves on', async () => {
  const bystander = connect({ host: host, port })
  await once(bystander, 'connect')
  const ask = async (): Promise<void> => {
    const r = await fetch(`http://${host}:${port}/ping`)
    assert.equal(r.status, 200)
    await r.arrayBuffer()
  }
  const checkForwarded = (from: number): void => {
    assert.ok(seen.length > from)
    for (const s of seen.slice(from)) {
      assert.equal(s.headers.authorization, LEASE)
      assert.equal(s.headers['proxy-authorization'], undefined)
      assert.deepEqual(queryNames(s.url).filter((n) => n === 'u' || n === 'p'), [], `a v1 credential went on in ${s.url}`)
    }
  }
  const start = seen.length
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (garbage) => {
    const before = seen.length
    const answer = await exchange([Buffer.from(garbage)])
    assert.match(answer, /^(|HTTP\/1\.1 40\d [^\r]*\r\n[\s\S]*)$/)
    assert.equal(seen.length, before, 'bytes that are no HTTP were forwarded')
  }), { numRuns: 200 })
  await fc.assert(fc.asyncProperty(request, fc.nat(), fc.integer({ min: 1, max: 255 }), async (r, i, x) => {
    const bytes = encode(r)
    bytes[i % bytes.length]! ^= x
    const answer = await exchange([bytes])
    assert.match(answer, /^(|HTTP\/1\.1 \d{3} [^\r]*\r\n[\s\S]*)$/)
  }), { numRuns: 150 })
  // A connection opened before all that still works, and so do new ones.
  let answer = ''
  bystander.on('data', (c: Buffer) => { answer += c.toString() })
  bystander.write('GET /ping HTTP/1.1\r\nHost: inlet\r\n\r\n')
  await waitFor(() => /^HTTP\/1\.1 200/.test(answer), 5000, 'the bystander answered')
  bystander.destroy()
  await ask()
  // Whatever a changed byte still let through went on well-formed, with the lease and nothing of the client's.
  checkForwarded(start)
})
