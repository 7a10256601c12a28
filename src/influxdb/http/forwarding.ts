import { STATUS_CODES } from 'node:http'
import { PorticoError, type ErrorKind } from '../../util/errors.js'

// What of a client's request and of the database's answer crosses the InfluxDB inlet: never a
// client credential, never a header that belongs to one hop; everything else byte for byte. Heads
// are Latin-1 text, as HTTP/1.1 heads are on the wire.

/** Headers that belong to one hop (RFC 9110 7.6.1): each hop sets its own, so they are never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection'])
/** Headers that carry a client credential: never forwarded. */
const CREDENTIALS = new Set(['authorization', 'proxy-authorization'])
/** v1 query-string credentials. */
const DROPPED_PARAMS = new Set(['u', 'p'])
/** What a header value may hold (RFC 9110 5.5): no control character but tab, so no CR or LF. */
const VALID_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** A header value that would break the head it goes into: never written. */
export class InvalidHeaderValueError extends PorticoError {
  override readonly code: string = 'invalid-header-value'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'InvalidHeaderValueError'
}

/**
 * The request target without the v1 credential parameters `u` and `p`, however written (`%75`
 * for `u` too). Go before 1.17, which older InfluxDB 1.x builds use, also splits parameters at
 * `;`: a segment holding `;u=…` is dropped whole (newer Go ignores any segment with a `;` in it
 * anyway). Every other parameter goes on byte for byte, in order.
 */
export function cleanPath(url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const kept = url.slice(q + 1).split('&').filter((segment) => !segment.split(';').some((pair) => DROPPED_PARAMS.has(paramName(pair))))
  return kept.length === 0 ? url.slice(0, q) : `${url.slice(0, q)}?${kept.join('&')}`
}

/** A query parameter's name as a server decodes it; one that does not decode is no parameter to it. */
function paramName(pair: string): string {
  const eq = pair.indexOf('=')
  const raw = (eq < 0 ? pair : pair.slice(0, eq)).replaceAll('+', ' ')
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/**
 * Headers that frame a message: never dropped for being named in a Connection header, which would
 * let a client strip its body's length and have the body read upstream as a request of its own.
 */
const FRAMING = new Set(['content-length', 'transfer-encoding'])

/** The header names a Connection header lists as belonging to its hop, lower-cased, framing excepted. */
function connectionNamed(pairs: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined
  for (let i = 0; i < pairs.length; i += 2) {
    if ((pairs[i] ?? '').toLowerCase() !== 'connection') continue
    named ??= new Set()
    for (const t of (pairs[i + 1] ?? '').split(',')) {
      const name = t.trim().toLowerCase()
      if (!FRAMING.has(name)) named.add(name)
    }
  }
  return named
}

/** A client's request as it goes upstream: its headers without credential or hop, and what the inlet itself acts on. */
export interface UpstreamRequest {
  /** `Name: value\r\n` lines, in the client's order. */
  lines: string
  /** The client's Host, if it sent one. */
  host: string | undefined
  /** The client sent `Expect: 100-continue`; the inlet answers it and does not pass it on. */
  expectContinue: boolean
  /** The client sent an Expect the inlet cannot meet (anything else). */
  otherExpectation: boolean
  /** The body is chunked (it has a Transfer-Encoding, which the parser only takes ending in chunked). */
  chunked: boolean
}

/** Sorts a client's request headers: what goes upstream, and what the inlet handles itself. */
export function upstreamRequest(pairs: readonly string[]): UpstreamRequest {
  const named = connectionNamed(pairs)
  let lines = ''
  let host: string | undefined
  let expectContinue = false
  let otherExpectation = false
  let chunked = false
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i] ?? ''
    const value = pairs[i + 1] ?? ''
    const lower = name.toLowerCase()
    if (lower === 'transfer-encoding') chunked = true
    if (lower === 'host') host ??= value
    else if (lower === 'expect') {
      if (value.trim().toLowerCase() === '100-continue') expectContinue = true
      else otherExpectation = true
    } else if (!HOP_BY_HOP.has(lower) && !CREDENTIALS.has(lower) && named?.has(lower) !== true) lines += `${name}: ${value}\r\n`
  }
  return { lines, host, expectContinue, otherExpectation, chunked }
}

/**
 * The head sent upstream: the client's method, its target without credentials, its headers as
 * sorted by `upstreamRequest` (framing included: the body goes on framed as the client framed it),
 * the Host the database expects, and the lease. Throws InvalidHeaderValueError, naming neither
 * value, if the Host or the lease could not be written as a header.
 */
export function upstreamHead(method: string, url: string, request: UpstreamRequest, host: string, authorization: string): string {
  if (!VALID_VALUE.test(host) || !VALID_VALUE.test(authorization)) throw new InvalidHeaderValueError('the lease or the database host holds characters that cannot go into an HTTP header')
  return `${method} ${cleanPath(url)} HTTP/1.1\r\nHost: ${host}\r\n${request.lines}Authorization: ${authorization}\r\n\r\n`
}

/** How an answer's body is framed for the client. */
export type AnswerFraming = 'none' | 'length' | 'chunked' | 'close'

/** The database's answer as it goes to the client: its headers without hop, and how its body is framed. */
export interface ClientAnswer {
  head: string
  framing: AnswerFraming
}

/**
 * The answer's head for the client: the database's status and headers but those of its hop. Its
 * `Connection: close` ends the upstream connection, not the client's; this hop frames the body
 * itself (the length if the database gave one, else chunked, or until the connection closes for
 * an HTTP/1.0 client) and says whether the client's connection stays open.
 */
export function clientAnswer(status: number, message: string, pairs: readonly string[], bodyless: boolean, client: { http11: boolean; keepAlive: boolean; keepAliveSeconds: number }): ClientAnswer {
  const named = connectionNamed(pairs)
  let lines = ''
  let length = false
  let chunked = false
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i] ?? ''
    const lower = name.toLowerCase()
    if (lower === 'transfer-encoding') {
      chunked = true
      continue
    }
    if (lower === 'content-length') length = true
    if (!HOP_BY_HOP.has(lower) && named?.has(lower) !== true) lines += `${name}: ${pairs[i + 1] ?? ''}\r\n`
  }
  const framing: AnswerFraming = bodyless ? 'none' : length && !chunked ? 'length' : client.http11 ? 'chunked' : 'close'
  if (framing === 'chunked') lines += 'Transfer-Encoding: chunked\r\n'
  const keepAlive = client.keepAlive && framing !== 'close'
  lines += keepAlive ? `Connection: keep-alive\r\nKeep-Alive: timeout=${client.keepAliveSeconds}\r\n` : 'Connection: close\r\n'
  return { head: `HTTP/1.1 ${status} ${message === '' ? STATUS_CODES[status] ?? '' : message}\r\n${lines}\r\n`, framing }
}

/** An answer of the inlet's own, with a JSON body `{code, message}`. */
export function ownAnswer(status: number, code: string, message: string, close: boolean, extra = ''): string {
  const body = JSON.stringify({ code, message })
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: ${close ? 'close' : 'keep-alive'}\r\n\r\n${body}`
}
