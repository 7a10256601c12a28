import type { z } from 'zod'

/** Issues named in one message; a wrong array of a thousand entries need not be read out in full. */
export const MAX_ISSUES_SHOWN = 10

/** Where in a value an issue is, as people write it: `a.b[0].c`. */
function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p, k) => (typeof p === 'number' ? `[${p}]` : `${k === 0 ? '' : '.'}${String(p)}`)).join('')
}

/**
 * A validator's issues as one line for people: where and why, never the values themselves (they
 * may be secrets). `quote` puts the paths in quotes, as configuration messages do.
 */
export function describeIssues(error: z.ZodError, quote = false): string {
  const q = (path: readonly PropertyKey[]): string => (quote ? `'${issuePath(path)}'` : issuePath(path))
  const shown = error.issues.slice(0, MAX_ISSUES_SHOWN).map((i) => {
    if (i.code === 'unrecognized_keys') return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${issuePath([...i.path, k])}'`).join(', ')}`
    return i.path.length === 0 ? i.message : `${q(i.path)}: ${i.message}`
  })
  const more = error.issues.length - shown.length
  return shown.join('; ') + (more > 0 ? ` (and ${more} more)` : '')
}

/** Where a validator found issues, each place once (`what` for the value itself): for messages that must not say more. */
export function issueFields(error: z.ZodError, what: string): string[] {
  return [...new Set(error.issues.map((i) => (i.path.length === 0 ? what : issuePath(i.path))))]
}
