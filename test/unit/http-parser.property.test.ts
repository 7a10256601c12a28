import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { HttpMessageParser, HttpParseError, type MessageHead } from '../../src/influxdb/http/http-parser.js'

// The inlet's driver of Node's own HTTP parser: whatever the bytes and however they are split,
// it reports the same messages, and refuses what is no HTTP with an HttpParseError, never
// anything else.

interface Parsed { head: MessageHead; body: Buffer; complete: boolean }

function parse(kind: 'request' | 'response', pieces: readonly Buffer[], options: { maxHeaderBytes?: number; noBody?: boolean } = {}): Parsed[] {
  const out: Parsed[] = []
  let bodies: Buffer[] = []
  const parser = new HttpMessageParser(kind, options.maxHeaderBytes ?? 16 * 1024, {
    begin: () => { bodies = [] },
    head: (head) => {
      out.push({ head, body: Buffer.alloc(0), complete: false })
      return options.noBody === true
    },
    body: (c) => { bodies.push(c) },
    complete: () => {
      const last = out.at(-1)
      if (last !== undefined) Object.assign(last, { body: Buffer.concat(bodies), complete: true })
    }
  })
  for (const p of pieces) parser.execute(p)
  return out
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/)
const value = fc.stringMatching(/^[!-~]([ -~]{0,20}[!-~])?$/)
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
  target: fc.stringMatching(/^\/[A-Za-z0-9/?=&%._-]{0,30}$/),
  headers: fc.array(fc.tuple(token.map((t) => `X-${t}`), value), { maxLength: 40 }),
  body: fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
  chunkSize: fc.option(fc.integer({ min: 1, max: 700 }), { nil: undefined })
})
type Req = typeof request extends fc.Arbitrary<infer T> ? T : never

function encode(r: Req): Buffer {
  const lines = [`${r.method} ${r.target} HTTP/1.1`, 'Host: h', ...r.headers.map(([n, v]) => `${n}: ${v}`)]
  if (r.chunkSize === undefined) return Buffer.concat([Buffer.from(`${[...lines, `Content-Length: ${r.body.length}`].join('\r\n')}\r\n\r\n`), r.body])
  const parts: Buffer[] = [Buffer.from(`${[...lines, 'Transfer-Encoding: chunked'].join('\r\n')}\r\n\r\n`)]
  for (let i = 0; i < r.body.length; i += r.chunkSize) {
    const c = r.body.subarray(i, i + r.chunkSize)
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'))
  }
  parts.push(Buffer.from('0\r\n\r\n'))
  return Buffer.concat(parts)
}

function split(bytes: Buffer, at: readonly number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let from = 0
  for (const p of points) {
    out.push(bytes.subarray(from, p))
    from = p
  }
  out.push(bytes.subarray(from))
  return out
}

test('pipelined requests split anywhere are read as sent: method, target, every header in order, and the body without its framing', () => {
  fc.assert(fc.property(fc.array(request, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 8 }), (requests, cuts) => {
    const parsed = parse('request', split(Buffer.concat(requests.map(encode)), cuts))
    assert.equal(parsed.length, requests.length)
    for (const [i, r] of requests.entries()) {
      const p = parsed[i]
      assert.ok(p?.complete === true)
      assert.equal(p.head.method, r.method)
      assert.equal(p.head.url, r.target)
      assert.equal(p.head.keepAlive, true)
      assert.deepEqual(p.head.headers.slice(2, 2 + r.headers.length * 2), r.headers.flat())
      assert.ok(p.body.equals(r.body))
    }
  }), { numRuns: 300 })
})

test('bytes that are no HTTP are refused with an HttpParseError, nothing else', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 4 }), (bytes, cuts) => {
    try {
      parse('request', split(Buffer.from(bytes), cuts))
    } catch (err) {
      assert.ok(err instanceof HttpParseError, String(err))
      assert.match(err.code, /^HPE_/)
    }
  }), { numRuns: 500 })
  fc.assert(fc.property(request, fc.nat(), fc.integer({ min: 1, max: 255 }), (r, i, x) => {
    const bytes = encode(r)
    bytes[i % bytes.length]! ^= x
    try {
      parse('request', [bytes])
    } catch (err) {
      assert.ok(err instanceof HttpParseError, String(err))
    }
  }), { numRuns: 500 })
})

test('hostile requests: oversized heads, smuggling framings and bad chunks are refused', () => {
  const refused = (raw: string, code: RegExp, maxHeaderBytes?: number): void => {
    assert.throws(() => parse('request', [Buffer.from(raw, 'latin1')], maxHeaderBytes === undefined ? {} : { maxHeaderBytes }), (err: unknown) => err instanceof HttpParseError && code.test(err.code))
  }
  refused(`GET / HTTP/1.1\r\nX: ${'a'.repeat(2000)}\r\n\r\n`, /^HPE_HEADER_OVERFLOW$/, 1024)
  refused('POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /^HPE_/)
  refused('POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef', /^HPE_/)
  refused('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /^HPE_INVALID_CHUNK_SIZE$/)
  refused('POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', /^HPE_/)
  refused('GET / HTTP/1.1\r\nBad Header: x\r\n\r\n', /^HPE_/)
  refused('GET / HTTP/1.1\r\nX: a\rb\r\n\r\n', /^HPE_/)
})

test('an answer to HEAD has no body whatever its length says; one without a length runs until the connection ends', () => {
  const [head] = parse('response', [Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n')], { noBody: true })
  assert.equal(head?.complete, true)
  assert.equal(head.head.status, 200)
  const answers: Buffer[] = []
  let complete = false
  const p = new HttpMessageParser('response', 1024, { begin: () => undefined, head: () => false, body: (c) => { answers.push(c) }, complete: () => { complete = true } })
  p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\nstream'))
  assert.equal(complete, false)
  p.finish()
  assert.equal(complete, true)
  assert.equal(Buffer.concat(answers).toString(), 'stream')
  const cut = new HttpMessageParser('response', 1024, { begin: () => undefined, head: () => false, body: () => undefined, complete: () => undefined })
  cut.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc'))
  assert.throws(() => cut.finish(), HttpParseError)
})

test('a handler that throws stops the parser, and its error comes out of execute with its stack', () => {
  const p = new HttpMessageParser('request', 1024, { begin: () => undefined, head: function failingHead() { throw new RangeError('handler failed') }, body: () => undefined, complete: () => undefined })
  assert.throws(() => p.execute(Buffer.from('GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n')), (err: unknown) => err instanceof RangeError && /failingHead/.test(err.stack ?? ''))
})

test('the stack trace limit, set aside inside llhttp, is as it was after every kind of return', () => {
  const limit = Error.stackTraceLimit
  const p = new HttpMessageParser('request', 1024, { begin: () => undefined, head: () => false, body: () => undefined, complete: () => undefined })
  p.execute(Buffer.from('POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n'))
  assert.equal(Error.stackTraceLimit, limit)
  assert.throws(() => p.execute(Buffer.from('NOT HTTP\r\n\r\n')), (err: unknown) => err instanceof HttpParseError && (err.stack ?? '').includes('\n    at '))
  assert.equal(Error.stackTraceLimit, limit)
  const failing = new HttpMessageParser('request', 1024, { begin: () => undefined, head: () => { throw new Error('x') }, body: () => undefined, complete: () => undefined })
  assert.throws(() => failing.execute(Buffer.from('GET / HTTP/1.1\r\n\r\n')))
  assert.equal(Error.stackTraceLimit, limit)
})

test('a body of known length comes as pieces of the buffers given, not copies, and the next message follows', () => {
  const pieces: Buffer[] = []
  const urls: string[] = []
  const p = new HttpMessageParser('request', 1024, { begin: () => undefined, head: (h) => { urls.push(h.url); return false }, body: (c) => { pieces.push(c) }, complete: () => { urls.push('complete') } })
  const first = Buffer.from('POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nhello')
  const second = Buffer.from('worldGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx')
  assert.equal(p.execute(first), first.length)
  assert.equal(p.execute(second), second.length)
  assert.deepEqual(urls, ['/a', 'complete', '/b', 'complete', '/c', 'complete'])
  assert.deepEqual(pieces.map((c) => c.toString()), ['hello', 'world', 'x'])
  assert.ok(pieces[0]?.buffer === first.buffer && pieces[1]?.buffer === second.buffer, 'a piece was copied')
  // As llhttp does after a message that closes the connection: nothing more is HTTP.
  assert.throws(() => p.execute(Buffer.from('GET /d HTTP/1.1\r\n\r\n')), (err: unknown) => err instanceof HttpParseError && err.code === 'HPE_CLOSED_CONNECTION')
  const cut = new HttpMessageParser('request', 1024, { begin: () => undefined, head: () => false, body: () => undefined, complete: () => undefined })
  cut.execute(Buffer.from('POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nhel'))
  assert.throws(() => cut.finish(), (err: unknown) => err instanceof HttpParseError && err.code === 'HPE_INVALID_EOF_STATE')
})
