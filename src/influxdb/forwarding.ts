import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http'

// What of a client's request and of the database's answer crosses the InfluxDB inlet: never a
// client credential, never a header that belongs to one hop; everything else byte for byte.

/** Headers that belong to one hop (RFC 9110 7.6.1): each hop sets its own, so they are never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection'])
/** Headers that carry a client credential: never forwarded. */
const CREDENTIALS = new Set(['authorization', 'proxy-authorization'])
/** v1 query-string credentials. */
const DROPPED_PARAMS = new Set(['u', 'p'])

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

/** Copies `headers` without the hop-by-hop ones (those always so, and those its Connection header names), nor `also`. */
function withoutHopHeaders(headers: IncomingMessage['headers'], also?: Set<string>): OutgoingHttpHeaders {
  const named = headers.connection?.split(',').map((t) => t.trim().toLowerCase())
  const out: OutgoingHttpHeaders = {}
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k) && also?.has(k) !== true && named?.includes(k) !== true) out[k] = v
  }
  return out
}

/** A client's request headers as they go upstream: no credential, nothing of the client's hop. */
export function cleanHeaders(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  const out = withoutHopHeaders(headers, CREDENTIALS)
  // A body of unknown length goes on chunked whatever the method: Node's client chunks only the
  // methods that usually carry a body, and would send a chunked DELETE's body unframed, where
  // the database would read it as the next request.
  const te = headers['transfer-encoding']
  if (te !== undefined) out['transfer-encoding'] = te
  return out
}

/**
 * The database's answer headers as they go to the client: nothing of the upstream hop. Its
 * `Connection: close` ends the upstream connection, not the client's, and the client's answer is
 * framed by this hop (the length if the database gave one, else chunked).
 */
export function answerHeaders(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  return withoutHopHeaders(headers)
}
