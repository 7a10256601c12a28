import { PorticoError, type ErrorKind } from '../util/errors.js'
/** `host:port`, `[v6]:port`; parsed strictly because it arrives from configs and routes. */
export interface HostPort {
  host: string
  port: number
}

export class AddressError extends PorticoError {
  override readonly code: string = 'address'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'AddressError'
}

export function parseHostPort(text: string, defaultHost = '127.0.0.1'): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim())
  const portOnly = /^\d{1,5}$/.test(text.trim())
  if (m === null && !portOnly) throw new AddressError(`not a host:port address: ${text}`)
  const port = Number(portOnly ? text.trim() : m?.[3])
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AddressError(`port out of range in ${text}`)
  const host = portOnly ? defaultHost : (m?.[1] ?? m?.[2] ?? '')
  return { host: host === '' ? defaultHost : host, port }
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`
}
