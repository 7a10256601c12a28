import { DecodeError } from '../encoding/errors.js'
import { cborHeadLength as headLength, MAJOR_ARRAY, MAJOR_TEXT, MAJOR_UINT, readCborHead as readHead, writeCborHead as writeHead } from '../encoding/cbor-head.js'
import { MAX_ADDRESS_LENGTH, MAX_ROUTE_LENGTH, type Address, type Route } from './address.js'

/**
 * Routes on the wire are CBOR `[[type, value], …]`, byte for byte what the general CBOR encoder
 * writes. Every message carries two routes at every hop, so this one shape is written and read by
 * hand rather than through the general codec, which costs several times more per message. Reading
 * is as strict as the general decoder: canonical heads only, no indefinite lengths, valid UTF-8.
 */

const ADDRESS_HEAD = (MAJOR_ARRAY << 5) | 2
/** A value of MAX_ADDRESS_LENGTH UTF-16 units takes at most three UTF-8 bytes per unit. */
const MAX_ADDRESS_BYTES = MAX_ADDRESS_LENGTH * 3
const utf8 = new TextDecoder('utf-8', { fatal: true })

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

const textBytes = (s: string): number => (isAscii(s) ? s.length : Buffer.byteLength(s, 'utf8'))

/** Bytes `writeRoute` will write for `route`. */
export function routeByteLength(route: Route): number {
  let n = headLength(route.length)
  for (const a of route) {
    const len = textBytes(a.value)
    n += 1 + headLength(a.type) + headLength(len) + len
  }
  return n
}

/** Writes `route` at `at` and returns the offset after it. */
export function writeRoute(buf: Buffer, at: number, route: Route): number {
  let p = writeHead(buf, at, MAJOR_ARRAY, route.length)
  for (const a of route) {
    buf[p++] = ADDRESS_HEAD
    p = writeHead(buf, p, MAJOR_UINT, a.type)
    const len = textBytes(a.value)
    p = writeHead(buf, p, MAJOR_TEXT, len)
    p += buf.write(a.value, p, len, len === a.value.length ? 'latin1' : 'utf8')
  }
  return p
}

export function encodeRouteBytes(route: Route): Uint8Array {
  const buf = Buffer.allocUnsafe(routeByteLength(route))
  writeRoute(buf, 0, route)
  return buf
}

function readText(b: Uint8Array, at: number, what: string): [string, number] {
  const h = readHead(b, at, what)
  if (h.major !== MAJOR_TEXT) throw new DecodeError(`${what}: expected a text string`)
  if (h.value > MAX_ADDRESS_BYTES) throw new DecodeError(`${what}: longer than ${MAX_ADDRESS_LENGTH}`)
  const end = h.next + h.value
  if (end > b.byteLength) throw new DecodeError(`${what}: truncated`)
  let ascii = true
  for (let i = h.next; i < end; i++) if ((b[i] ?? 0) > 0x7f) { ascii = false; break }
  let s: string
  if (ascii) s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1', h.next, end)
  else {
    try {
      s = utf8.decode(b.subarray(h.next, end))
    } catch (err) {
      throw new DecodeError(`${what}: invalid UTF-8`, { cause: err })
    }
  }
  if (s.length > MAX_ADDRESS_LENGTH) throw new DecodeError(`${what}: longer than ${MAX_ADDRESS_LENGTH}`)
  return [s, end]
}

/** Reads a route that starts at `at`; returns it with the offset after it. */
export function readRoute(b: Uint8Array, at: number, what: string): [Address[], number] {
  const h = readHead(b, at, what)
  if (h.major !== MAJOR_ARRAY) throw new DecodeError(`${what}: expected an array`)
  if (h.value > MAX_ROUTE_LENGTH) throw new DecodeError(`${what}: more than ${MAX_ROUTE_LENGTH} hops`)
  const route: Address[] = []
  let p = h.next
  for (let i = 0; i < h.value; i++) {
    if (b[p] !== ADDRESS_HEAD) throw new DecodeError(`${what}[${i}]: expected an array of 2`)
    const type = readHead(b, p + 1, `${what}[${i}].type`)
    if (type.major !== MAJOR_UINT) throw new DecodeError(`${what}[${i}].type: expected an unsigned integer`)
    const [value, next] = readText(b, type.next, `${what}[${i}].value`)
    route.push({ type: type.value, value })
    p = next
  }
  return [route, p]
}
