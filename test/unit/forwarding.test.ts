import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clientAnswer, InvalidHeaderValueError, upstreamHead, upstreamRequest } from '../../src/influxdb/http/forwarding.js'

// The heads the inlet writes: upstream, the client's request without its credentials or its hop's
// headers; back, the database's answer framed for the client.

const pairs = (...lines: string[]): string[] => lines.flatMap((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()])

test('upstream: credentials, hop-by-hop headers and those the Connection header names stay behind; framing never does', () => {
  const r = upstreamRequest(pairs('Host: inlet:8086', 'Authorization: Token mine', 'proxy-authorization: Basic eDp5', 'Connection: keep-alive, X-Hop, Content-Length, Transfer-Encoding',
    'X-Hop: 1', 'Keep-Alive: timeout=5', 'TE: trailers', 'Upgrade: h2c', 'Content-Length: 5', 'X-Kept: a', 'x-kept: b', 'Expect: 100-continue'))
  assert.equal(r.host, 'inlet:8086')
  assert.equal(r.expectContinue, true)
  assert.equal(r.otherExpectation, false)
  // The length stays whatever the Connection header says: without it the body would be read upstream as a request of its own.
  assert.equal(r.lines, 'Content-Length: 5\r\nX-Kept: a\r\nx-kept: b\r\n')
  assert.equal(upstreamHead('POST', '/write?u=me&db=d&p=pw', r, 'db:8086', 'Token leased'),
    'POST /write?db=d HTTP/1.1\r\nHost: db:8086\r\nContent-Length: 5\r\nX-Kept: a\r\nx-kept: b\r\nAuthorization: Token leased\r\n\r\n')
  assert.equal(upstreamRequest(pairs('Expect: something-else')).otherExpectation, true)
  assert.equal(r.chunked, false)
  assert.equal(upstreamRequest(pairs('Transfer-Encoding: chunked')).chunked, true)
})

test('a lease or host that would break the head is refused without being named', () => {
  const r = upstreamRequest([])
  for (const [host, auth] of [['db', 'Token a\r\nX-Evil: 1'], ['db\nx', 'Token a'], ['db', 'Token \u0000']] as const) {
    assert.throws(() => upstreamHead('GET', '/', r, host, auth), (err: unknown) => err instanceof InvalidHeaderValueError && !err.message.includes('Token') && !err.message.includes('X-Evil'))
  }
})

test("back: the database's hop stays behind; the body keeps its length, else is chunked for HTTP/1.1 and runs to the close for HTTP/1.0", () => {
  const keep = { http11: true, keepAlive: true, keepAliveSeconds: 5 }
  const withLength = clientAnswer(200, 'OK', pairs('Content-Length: 3', 'Connection: close, X-Up', 'X-Up: 1', 'Keep-Alive: timeout=1', 'X-Influxdb-Version: 1.6.7'), false, keep)
  assert.equal(withLength.framing, 'length')
  assert.equal(withLength.head, 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Influxdb-Version: 1.6.7\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n')
  const streamed = clientAnswer(200, '', pairs('Transfer-Encoding: chunked', 'Content-Type: text/plain'), false, keep)
  assert.equal(streamed.framing, 'chunked')
  assert.equal(streamed.head, 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n')
  const toOld = clientAnswer(200, 'OK', pairs('Transfer-Encoding: chunked'), false, { http11: false, keepAlive: true, keepAliveSeconds: 5 })
  assert.equal(toOld.framing, 'close')
  assert.match(toOld.head, /\r\nConnection: close\r\n\r\n$/)
  const none = clientAnswer(204, 'No Content', pairs('X-Request-Id: r'), true, { ...keep, keepAlive: false })
  assert.equal(none.framing, 'none')
  assert.equal(none.head, 'HTTP/1.1 204 No Content\r\nX-Request-Id: r\r\nConnection: close\r\n\r\n')
})
