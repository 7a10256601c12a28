import { z } from 'zod'
import { LeaseError } from './lease-types.js'
import type { Attributes } from '../../identity/credential.js'
import type { Permission } from '../backends/backend.js'
import { describeIssues } from '../../encoding/validation.js'

export const MAX_PERMISSIONS = 64


export const PermissionSchema = z.object({
  action: z.enum(['read', 'write']),
  resource: z.object({
    type: z.string().min(1).max(64), id: z.string().max(128).optional(), name: z.string().max(256).optional(),
    orgID: z.string().max(128).optional(), org: z.string().max(256).optional()
  }).strict()
}).strict()

const SAFE_VALUE_RE = /^[A-Za-z0-9_.:-]{1,128}$/
/** Either placeholder; the group is the attribute's name. */
const PLACEHOLDER_RE = /INFLUX_ORG_ID|\{subject\.([A-Za-z0-9_.:-]+)\}/g

/**
 * Parses the configured template once, so a bad one fails at start-up, not at the first client.
 * A permission whose resource has neither an id nor a name is one for every resource of its type
 * in the org (or in every org): refused unless `allowOrgWide` says that is meant.
 */
export function parsePermissionTemplate(json: string | unknown[], options: { allowOrgWide?: boolean } = {}): string {
  const text = typeof json === 'string' ? json : JSON.stringify(json)
  let parsed: unknown
  try {
    parsed = JSON.parse(text.replace(PLACEHOLDER_RE, 'x'))
  } catch {
    throw new LeaseError('leased-token-permissions is not a JSON array of permissions')
  }
  const permissions = checked(z.array(PermissionSchema).min(1).max(MAX_PERMISSIONS), parsed, 'leased-token-permissions')
  const wide = permissions.findIndex((p) => p.resource.id === undefined && p.resource.name === undefined)
  if (wide >= 0 && options.allowOrgWide !== true) {
    throw new LeaseError(`leased-token-permissions: [${wide}] names no ${permissions[wide]?.resource.type ?? 'resource'} (neither id nor name), so it would grant every one of the organization; name one, or set allow-org-wide-permissions: true if that is meant`)
  }
  return text
}

/** Validates, and says what is wrong in one line, not as a dump of the validator's issues. */
function checked<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  throw new LeaseError(`${what}: ${describeIssues(r.error)}`)
}

/**
 * The permissions of one lease: `INFLUX_ORG_ID` becomes the org id, and `{subject.NAME}` the
 * subject's attested attribute NAME (so each device's token covers only its own bucket). A subject
 * without the attribute is refused; values are restricted to names, so no attribute can widen a grant.
 */
export function renderPermissions(template: string, orgId: string, attributes: Attributes): Permission[] {
  const missing: string[] = []
  // One pass, so neither value can be read as the other's placeholder; and a function, not a
  // string, so that `$&` and the like in the org id are not replacement patterns.
  const text = template.replace(PLACEHOLDER_RE, (_m, name: string | undefined) => {
    if (name === undefined) return orgId
    const value = attributes[name]
    if (value === undefined) {
      missing.push(name)
      return ''
    }
    if (!SAFE_VALUE_RE.test(value)) throw new LeaseError(`attribute ${name} is not usable in a permission (letters, digits, _ . : - only)`)
    return value
  })
  if (missing.length > 0) throw new LeaseError(`this identity lacks the attribute${missing.length > 1 ? 's' : ''} ${missing.join(', ')} that its lease permissions need`)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // Attribute values cannot break the JSON; an org id with a quote in it can.
    throw new LeaseError('lease permissions are not valid JSON once the org id is put in')
  }
  return checked(z.array(PermissionSchema), parsed, 'lease permissions') as Permission[]
}
