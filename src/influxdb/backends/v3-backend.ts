import { z } from 'zod'
import { BackendError, call, errorField, type Endpoint } from './http.js'
import { databaseActions, LEASE_TAG, type IssuedToken, type IssueRequest, type LeaseBackend, type Permission, type TaggedCredential } from './backend.js'

/** Lease tokens are named `portico-lease-<lease id>`: the tag by which orphans are found. */
export const V3_TOKEN_PREFIX = `${LEASE_TAG}-`
const TOKEN_NAME_RE = new RegExp(`^${V3_TOKEN_PREFIX}([0-9a-f]{1,64})$`)

export interface V3Options {
  endpoint: Endpoint
  /** An admin token: the only kind InfluxDB 3 Enterprise lets create and delete resource tokens. */
  adminToken: string
}

export interface V3Permission {
  resource_type: 'db'
  resource_names: string[]
  /** The same list under the name the vendor's how-to guide uses; see `v3Permissions`. */
  resource_identifier: string[]
  actions: ('read' | 'write')[]
}

/**
 * Resource-token permissions from v2-style ones: a bucket is a database, and databases that get
 * the same actions share one entry. The API reference names the database list `resource_names`,
 * the vendor's how-to guide `resource_identifier`; both are sent, so a server that knows either
 * reads the same list, and the contract allows the extra member.
 */
export function v3Permissions(permissions: readonly Permission[]): V3Permission[] {
  const byActions = new Map<string, string[]>()
  for (const [db, actions] of databaseActions(permissions, 'InfluxDB 3')) {
    const key = [...actions].sort().join(',')
    byActions.set(key, [...byActions.get(key) ?? [], db])
  }
  return [...byActions].map(([actions, dbs]) => ({
    resource_type: 'db', resource_names: dbs, resource_identifier: dbs, actions: actions.split(',') as ('read' | 'write')[]
  }))
}

const Created = z.object({
  token: z.string().min(1),
  permissions: z.array(z.object({ resource_type: z.string(), resource_names: z.array(z.string()).optional(), actions: z.array(z.string()) }).passthrough()).optional()
}).passthrough()

/** `db:action` for every database and action a permission list names, sorted: two lists grant the same when these are equal. */
function grantsOf(permissions: readonly { resource_type: string; resource_names?: string[] | undefined; actions: readonly string[] }[]): string {
  return [...new Set(permissions.flatMap((p) => (p.resource_names ?? ['*']).flatMap((n) => p.actions.map((a) => `${p.resource_type}:${n}:${a}`))))].sort().join(' ')
}
const TokenRow = z.object({ name: z.string() }).passthrough()

/**
 * InfluxDB 3 Enterprise: one resource token per lease, created with `expiry_secs` so the server
 * itself refuses it after the lease ends (even with the lease manager down), and deleted at expiry.
 */
export class V3Backend implements LeaseBackend {
  readonly kind = 'v3'

  constructor(private readonly o: V3Options) {}

  private headers(json: boolean): Record<string, string> {
    return { authorization: `Bearer ${this.o.adminToken}`, accept: 'application/json', ...(json ? { 'content-type': 'application/json' } : {}) }
  }

  async issue(req: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    const name = `${V3_TOKEN_PREFIX}${req.leaseId}`
    if (!TOKEN_NAME_RE.test(name)) throw new BackendError('lease ids must be hexadecimal')
    const expirySecs = Math.max(1, Math.ceil(req.lifetimeMs / 1000))
    const body = JSON.stringify({ token_name: name, permissions: v3Permissions(req.permissions), expiry_secs: expirySecs })
    const r = await call(this.o.endpoint, 'POST', '/api/v3/enterprise/configure/token', this.headers(true), body, signal)
    if (r.status === 404) throw new BackendError('this InfluxDB 3 has no resource tokens (they need InfluxDB 3 Enterprise, not Core)', r.status)
    if (r.status !== 201 && r.status !== 200) throw new BackendError(`InfluxDB refused to create a token: ${r.status} ${errorField(r.body, 'error')}`, r.status)
    let created
    try {
      created = Created.parse(JSON.parse(r.body))
    } catch {
      throw new BackendError('InfluxDB created a token but its answer carried no token string', r.status)
    }
    // The token must name exactly the databases meant: a server that read the list under another
    // name, or not at all, would have made a token for every database (or none).
    const wanted = v3Permissions(req.permissions)
    if (created.permissions !== undefined && grantsOf(created.permissions) !== grantsOf(wanted)) {
      await this.revoke(name).catch(() => undefined)
      throw new BackendError(`InfluxDB made a token whose permissions are not the lease's (${grantsOf(created.permissions).slice(0, 200)}); it was deleted`, r.status)
    }
    // Bearer: the scheme InfluxDB 3 accepts on every endpoint (Token only on the v1 and v2 ones).
    return { backend: this.kind, backendId: name, authorization: `Bearer ${created.token}`, token: created.token }
  }

  async revoke(backendId: string, signal?: AbortSignal): Promise<void> {
    if (!TOKEN_NAME_RE.test(backendId)) throw new BackendError('not a lease token')
    const r = await call(this.o.endpoint, 'DELETE', `/api/v3/configure/token?token_name=${encodeURIComponent(backendId)}`, this.headers(false), undefined, signal)
    if (r.status !== 200 && r.status !== 204 && r.status !== 404) throw new BackendError(`InfluxDB refused to delete token ${backendId}: ${r.status} ${errorField(r.body, 'error')}`, r.status)
  }

  /** Tokens live in the `system.tokens` table of the `_internal` database, read as JSON lines. */
  async listTagged(signal?: AbortSignal): Promise<TaggedCredential[]> {
    const q = new URLSearchParams({ db: '_internal', q: 'SELECT name FROM system.tokens', format: 'jsonl' })
    const r = await call(this.o.endpoint, 'GET', `/api/v3/query_sql?${q.toString()}`, this.headers(false), undefined, signal)
    if (r.status !== 200) throw new BackendError(`InfluxDB refused to list tokens: ${r.status} ${errorField(r.body, 'error')}`, r.status)
    const out: TaggedCredential[] = []
    for (const line of r.body.split('\n')) {
      if (line.trim() === '') continue
      let row
      try {
        row = TokenRow.parse(JSON.parse(line))
      } catch {
        throw new BackendError('InfluxDB listed its tokens in a form we do not read')
      }
      const m = TOKEN_NAME_RE.exec(row.name)
      if (m?.[1] !== undefined) out.push({ backendId: row.name, leaseId: m[1] })
    }
    return out
  }
}
