import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cleanPath, clientAnswer, InvalidHeaderValueError, ownAnswer, upstreamHead, upstreamRequest } from '../../src/influxdb/http/forwarding.js'

// Edges of what crosses the inlet, each pinned: the cases the mutation run found untested.

test('credential parameters go even from a target that is only a query string; names are decoded as a server decodes them', () => {
  assert.equal(cleanPath('?u=admin&x=1'), '?x=1')
  assert.equal(cleanPath('?p=secret'), '')
  // `u+` is the name "u " to a server, not u: it stays.
  assert.equal(cleanPath('/w?u+=1&db=d'), '/w?u+=1&db=d')
})

test('request headers: every hop-by-hop header stays on its hop; a header a Connection list names goes, framing never', () => {
  const pairs = ['Host', 'h', 'Trailer', 'x', 'Proxy-Connection', 'keep-alive', 'TE', 'trailers', 'Keep-Alive', '5', 'Upgrade', 'h2c',
    'X-Note', 'x-kept', 'X-Kept', '1', 'Connection', 'x-hop, transfer-encoding', 'X-Hop', 'gone', 'Transfer-Encoding', 'chunked']
  const r = upstreamRequest(pairs)
  assert.equal(r.lines, 'X-Note: x-kept\r\nX-Kept: 1\r\nTransfer-Encoding: chunked\r\n')
  assert.equal(r.chunked, true)
  assert.equal(r.expectContinue, false)
  assert.equal(r.otherExpectation, false)
  assert.equal(upstreamRequest(['Expect', '100-continue']).expectContinue, true)
  assert.equal(upstreamRequest(['Expect', 'something-else']).otherExpectation, true)
})

test('answers: framed by length when the database gave one, else chunked (HTTP/1.1) or by close; its own status text kept', () => {
  const c11 = { http11: true, keepAlive: true, keepAliveSeconds: 5 }
  assert.equal(clientAnswer(200, '', [], false, c11).framing, 'chunked')
  assert.equal(clientAnswer(200, '', ['Content-Length', '3'], false, c11).framing, 'length')
  assert.equal(clientAnswer(200, '', ['Content-Length', '3', 'Transfer-Encoding', 'chunked'], false, c11).framing, 'chunked')
  assert.equal(clientAnswer(200, '', ['Transfer-Encoding', 'chunked'], false, { ...c11, http11: false }).framing, 'close')
  assert.equal(clientAnswer(204, '', [], true, c11).framing, 'none')
  assert.match(clientAnswer(299, 'Quite Fine', ['Content-Length', '0'], false, c11).head, /^HTTP\/1\.1 299 Quite Fine\r\n/)
  assert.match(clientAnswer(404, '', ['Content-Length', '0'], false, c11).head, /^HTTP\/1\.1 404 Not Found\r\n/)
  // A status Node has no text for, given with none, goes on with none.
  assert.match(clientAnswer(599, '', ['Content-Length', '0'], false, c11).head, /^HTTP\/1\.1 599 \r\n/)
  assert.doesNotMatch(clientAnswer(200, '', ['Content-Length', '0', 'Trailer', 'x', 'Proxy-Connection', 'close'], false, c11).head, /Trailer|Proxy-Connection/)
})

test('the inlet\'s own answers: status text, JSON body with its length, and the connection\'s fate', () => {
  const body = JSON.stringify({ code: 'forbidden', message: 'no' })
  assert.equal(ownAnswer(403, 'forbidden', 'no', true), `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
  assert.equal(ownAnswer(503, 'unavailable', 'no', false, 'Retry-After: 2\r\n').split('\r\n').slice(3, 5).join('|'), 'Retry-After: 2|Connection: keep-alive')
  assert.match(ownAnswer(299, 'x', 'y', false), /^HTTP\/1\.1 299 \r\n/)
})

test('edges the mutation run found untested: an answer with headers but no length, Expect in any case and spacing, the refusal of an unwritable header', () => {
  const c11 = { http11: true, keepAlive: true, keepAliveSeconds: 5 }
  // Some header, but no length: the body is still chunked for an HTTP/1.1 client, not taken as framed by length.
  assert.equal(clientAnswer(200, '', ['X-Influxdb-Version', '1.8.10', 'Content-Type', 'application/json'], false, c11).framing, 'chunked')
  for (const value of ['100-continue', '100-Continue', ' 100-CONTINUE ']) {
    const r = upstreamRequest(['Host', 'db', 'Expect', value])
    assert.equal(r.expectContinue, true, JSON.stringify(value))
    assert.equal(r.otherExpectation, false, JSON.stringify(value))
  }
  assert.equal(upstreamRequest(['Expect', '200-ok']).otherExpectation, true)
  const r = upstreamRequest(['Host', 'db'])
  assert.throws(() => upstreamHead('POST', '/write', r, 'db\r\nX-Evil: 1', 'Token t'), (e: unknown) =>
    e instanceof InvalidHeaderValueError && e.code === 'invalid-header-value' && e.kind === 'bad-input' && e.name === 'InvalidHeaderValueError' &&
    e.message === 'the lease or the database host holds characters that cannot go into an HTTP header')
})
