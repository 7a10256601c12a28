import { z } from 'zod'
import type { Attributes } from '../identity/credential.js'

/** Patterns in one enroller's scope; more are refused. */
export const MAX_SCOPE_PATTERNS = 64

/** `name=value`, `name=*` (any value) or `name=prefix*`: what an enroller's tickets may grant. */
export const ScopePattern = z.string().max(256).regex(/^[A-Za-z0-9_.:-]{1,128}=[^*]*\*?$/, 'a scope pattern is NAME=VALUE, NAME=* or NAME=PREFIX*')

/**
 * Attributes that decide who serves whom rather than what a device may do: registering a relay,
 * and being trusted as an outlet by inlets. Granting them is for admins, or for enrollers whose
 * scope names them.
 */
export function isReservedAttribute(name: string): boolean {
  return name === 'relay' || name === 'outlet' || name.endsWith('-outlet')
}

function matches(pattern: string, name: string, value: string): boolean {
  const eq = pattern.indexOf('=')
  if (pattern.slice(0, eq) !== name) return false
  const v = pattern.slice(eq + 1)
  return v.endsWith('*') ? value.startsWith(v.slice(0, -1)) : value === v
}

/**
 * The attributes of `attributes` an enroller may not grant: outside its scope when it has one,
 * else the reserved ones. Empty when the ticket may be made.
 */
export function outsideScope(attributes: Attributes, scope: readonly string[] | undefined): string[] {
  return Object.entries(attributes).filter(([name, value]) =>
    scope === undefined ? isReservedAttribute(name) : !scope.some((p) => matches(p, name, value))
  ).map(([name, value]) => `${name}=${value}`)
}
