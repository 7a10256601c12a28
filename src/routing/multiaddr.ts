import { DecodeError } from '../encoding/errors.js'
import { MAX_ROUTE_LENGTH } from './address.js'
import type { ErrorKind } from '../util/errors.js'

/** One step of a written route. `secure` means: open a secure channel to this listener, then go through it. */
export type Segment =
  | { kind: 'tcp'; value: string }
  | { kind: 'service' | 'worker' | 'secure' | 'node' | 'project'; value: string }

const NAME_RE = /^[A-Za-z0-9_.-]{1,128}$/
const HOST_PROTOCOLS = new Set(['ip4', 'ip6', 'dnsaddr', 'dns', 'dns4', 'dns6'])
const NAMED = new Set(['service', 'worker', 'secure', 'node', 'project'])

export class MultiaddrError extends DecodeError {
  override readonly code: string = 'multiaddr'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'MultiaddrError'
}

/**
 * `/ip4/10.0.0.5/tcp/4000/secure/api/service/echo`, `/node/n1/service/echo`, `/service/sc-…`.
 * A host protocol must be followed by `/tcp/PORT`.
 */
export function parseMultiaddr(text: string): Segment[] {
  if (!text.startsWith('/')) throw new MultiaddrError(`route must start with '/': ${text}`)
  const parts = text.slice(1).split('/')
  const out: Segment[] = []
  for (let i = 0; i < parts.length;) {
    const proto = parts[i]
    const value = parts[i + 1]
    if (proto === undefined || proto === '' || value === undefined || value === '') {
      throw new MultiaddrError(`route ${text}: '${proto ?? ''}' needs a value`)
    }
    if (HOST_PROTOCOLS.has(proto)) {
      if (parts[i + 2] !== 'tcp' || parts[i + 3] === undefined) throw new MultiaddrError(`route ${text}: /${proto}/${value} must be followed by /tcp/PORT`)
      const port = Number(parts[i + 3])
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new MultiaddrError(`route ${text}: bad tcp port`)
      out.push({ kind: 'tcp', value: proto === 'ip6' ? `[${value}]:${port}` : `${value}:${port}` })
      i += 4
    } else if (NAMED.has(proto)) {
      if (!NAME_RE.test(value)) throw new MultiaddrError(`route ${text}: bad name '${value}'`)
      out.push({ kind: proto as 'service', value })
      i += 2
    } else {
      throw new MultiaddrError(`route ${text}: unknown protocol '${proto}'`)
    }
    if (out.length > MAX_ROUTE_LENGTH) throw new MultiaddrError(`route ${text}: too many hops`)
  }
  return out
}

export function formatMultiaddr(segments: readonly Segment[]): string {
  return segments.map((s) => {
    if (s.kind !== 'tcp') return `/${s.kind}/${s.value}`
    const m = /^\[(.+)\]:(\d+)$/.exec(s.value) ?? /^(.+):(\d+)$/.exec(s.value)
    const host = m?.[1] ?? s.value
    const proto = s.value.startsWith('[') ? 'ip6' : /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 'ip4' : 'dnsaddr'
    return `/${proto}/${host}/tcp/${m?.[2] ?? ''}`
  }).join('')
}
