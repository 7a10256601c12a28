import * as cborg from 'cborg'
import { DecodeError } from './errors.js'

/**
 * Strict decoding: no indefinite lengths, no undefined, no duplicate map keys, canonical integers.
 * Hostile peers choose our input, so anything a canonical encoder would not produce is refused.
 */
const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
  tags: []
} as const

export function encodeCbor(value: unknown): Uint8Array {
  return cborg.encode(value)
}

export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return cborg.decode(bytes, DECODE_OPTIONS)
  } catch (err) {
    throw new DecodeError(`invalid CBOR: ${(err as Error).message}`, { cause: err })
  }
}

/** Decodes one item from the front and returns it with the rest of the bytes (a view, no copy). */
export function decodeCborFirst(bytes: Uint8Array): [unknown, Uint8Array] {
  try {
    return cborg.decodeFirst(bytes, DECODE_OPTIONS)
  } catch (err) {
    throw new DecodeError(`invalid CBOR: ${(err as Error).message}`, { cause: err })
  }
}

export function expectArray(value: unknown, what: string, length?: number | [number, number]): unknown[] {
  if (!Array.isArray(value)) throw new DecodeError(`${what}: expected an array`)
  if (typeof length === 'number' && value.length !== length) {
    throw new DecodeError(`${what}: expected ${length} items, got ${value.length}`)
  }
  if (Array.isArray(length) && (value.length < length[0] || value.length > length[1])) {
    throw new DecodeError(`${what}: expected ${length[0]} to ${length[1]} items, got ${value.length}`)
  }
  return value as unknown[]
}

export function expectBytes(value: unknown, what: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new DecodeError(`${what}: expected bytes`)
  if (length !== undefined && value.byteLength !== length) {
    throw new DecodeError(`${what}: expected ${length} bytes, got ${value.byteLength}`)
  }
  return value
}

export function expectString(value: unknown, what: string, maxLength = 4096): string {
  if (typeof value !== 'string') throw new DecodeError(`${what}: expected a text string`)
  if (value.length > maxLength) throw new DecodeError(`${what}: longer than ${maxLength}`)
  return value
}

export function expectUint(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new DecodeError(`${what}: expected an unsigned integer`)
  }
  return value
}

export function expectBool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new DecodeError(`${what}: expected a boolean`)
  return value
}

export function expectStringMap(value: unknown, what: string, maxEntries: number): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new DecodeError(`${what}: expected a map`)
  }
  const entries = Object.entries(value)
  if (entries.length > maxEntries) throw new DecodeError(`${what}: more than ${maxEntries} entries`)
  const out: Record<string, string> = Object.create(null) as Record<string, string>
  for (const [k, v] of entries) out[k] = expectString(v, `${what}.${k}`)
  return out
}
