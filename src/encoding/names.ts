import { z } from 'zod'

/** The one shape of every name people give (nodes, projects, relays, services, identities): 1-64 letters, digits, `.` `_` `-`, not starting with a sign. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

/** A zod string of that shape; `what` names the kind in the message ('a relay name is 1-64 …'). */
export function nameSchema(what: string): z.ZodString {
  return z.string().regex(NAME_PATTERN, `${what} is 1-64 letters, digits, . _ -`)
}
