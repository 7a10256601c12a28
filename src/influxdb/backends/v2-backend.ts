import { z } from 'zod'
import { BackendError, call, DatabaseNotFoundError, errorField, type Endpoint } from './http.js'
import { LEASE_TAG, type IssuedToken, type IssueRequest, type LeaseBackend, type Permission, type TaggedCredential } from './backend.js'
import { setNewest } from '../../util/recency-map.js'

/** Bucket ids kept by name; the oldest go first past this. */
export const MAX_CACHED_BUCKETS = 10_000
/** A cached bucket id is asked for again after this long (a bucket deleted and made again has a new id). */
export const BUCKET_CACHE_MS = 5 * 60_000
const BucketList = z.object({ buckets: z.array(z.object({ id: z.string().min(1), name: z.string(), orgID: z.string().optional() })).default([]) })

export interface V2Options {
  endpoint: Endpoint
  orgId: string
  allAccessToken: string
}

const Created = z.object({ id: z.string(), token: z.string() })
/** The lease id in a tagged description (see `leaseDescription`). */
const TAGGED_DESCRIPTION_RE = new RegExp(`^${LEASE_TAG}:([0-9a-f]+) `)
const Listed = z.object({ authorizations: z.array(z.object({ id: z.string(), description: z.string().optional() })).default([]), links: z.object({ next: z.string().optional() }).optional() })

/** `portico-lease:<lease id> identity=<identifier> expires=<iso>`: InfluxDB 2 tokens have no expiry, so the description carries ours. */
export function leaseDescription(leaseId: string, identifier: string, expiresAt: number): string {
  return `${LEASE_TAG}:${leaseId} identity=${identifier} expires=${new Date(expiresAt).toISOString()}`
}

/**
 * InfluxDB 2.x OSS, Cloud, Timestream for InfluxDB: one authorization per lease, deleted at expiry.
 *
 * InfluxDB matches a permission by its resource's `id` and `orgID` only (authz.go
 * `Permission.Matches`); a `name` in a request is dropped, so a permission naming a bucket by name
 * alone would be one for every bucket. Named buckets are therefore resolved to their ids first,
 * and a name that does not resolve refuses the lease.
 */
export class V2Backend implements LeaseBackend {
  readonly kind = 'v2'
  private readonly bucketIds = new Map<string, { id: string; at: number }>()

  constructor(private readonly o: V2Options) {}

  private headers(): Record<string, string> {
    return { authorization: `Token ${this.o.allAccessToken}`, 'content-type': 'application/json', accept: 'application/json' }
  }

  /** The id of bucket `name` in `orgID`, from the cache or the database. */
  private async bucketId(name: string, orgID: string, signal?: AbortSignal): Promise<string> {
    const key = `${orgID}/${name}`
    const cached = this.bucketIds.get(key)
    if (cached !== undefined && Date.now() - cached.at < BUCKET_CACHE_MS) return cached.id
    const q = new URLSearchParams({ orgID, name })
    const r = await call(this.o.endpoint, 'GET', `/api/v2/buckets?${q.toString()}`, this.headers(), undefined, signal)
    if (r.status !== 200) throw new BackendError(`InfluxDB refused to look up bucket '${name}': ${r.status} ${errorField(r.body, 'message')}`, r.status)
    const found = BucketList.parse(JSON.parse(r.body)).buckets.find((b) => b.name === name && (b.orgID === undefined || b.orgID === orgID))
    if (found === undefined) {
      this.bucketIds.delete(key)
      throw new DatabaseNotFoundError(`bucket '${name}' does not exist in organization ${orgID}: no lease is issued for it (create the bucket first)`, 404)
    }
    setNewest(this.bucketIds, key, { id: found.id, at: Date.now() }, MAX_CACHED_BUCKETS)
    return found.id
  }

  /** The permissions with every named bucket resolved to its id in its org (the name kept, for the inlet's checks). */
  async resolve(permissions: readonly Permission[], signal?: AbortSignal): Promise<Permission[]> {
    const out: Permission[] = []
    for (const p of permissions) {
      const { type, id, name } = p.resource
      const orgID = p.resource.orgID ?? this.o.orgId
      if (type === 'buckets' && id === undefined && name !== undefined) out.push({ action: p.action, resource: { type, id: await this.bucketId(name, orgID, signal), orgID, name } })
      else out.push({ action: p.action, resource: { ...p.resource, orgID } })
    }
    return out
  }

  async issue(req: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    const granted = await this.resolve(req.permissions, signal)
    // What InfluxDB reads of a permission: its type, id and org id.
    const permissions = granted.map(({ action, resource: { type, id, orgID } }) => ({ action, resource: { type, ...(id !== undefined ? { id } : {}), ...(orgID !== undefined ? { orgID } : {}) } }))
    const body = JSON.stringify({ orgID: this.o.orgId, description: leaseDescription(req.leaseId, req.identifier, req.expiresAt), permissions })
    const r = await call(this.o.endpoint, 'POST', '/api/v2/authorizations', this.headers(), body, signal)
    if (r.status !== 201) throw new BackendError(`InfluxDB refused to create a token: ${r.status} ${errorField(r.body, 'message')}`, r.status)
    const created = Created.parse(JSON.parse(r.body))
    return { backend: this.kind, backendId: created.id, authorization: `Token ${created.token}`, token: created.token, permissions: granted }
  }

  async revoke(backendId: string, signal?: AbortSignal): Promise<void> {
    if (!/^[A-Za-z0-9]{1,64}$/.test(backendId)) throw new BackendError('not an authorization id')
    const r = await call(this.o.endpoint, 'DELETE', `/api/v2/authorizations/${backendId}`, this.headers(), undefined, signal)
    if (r.status !== 204 && r.status !== 404) throw new BackendError(`InfluxDB refused to delete token ${backendId}: ${r.status} ${errorField(r.body, 'message')}`, r.status)
  }

  async listTagged(signal?: AbortSignal): Promise<TaggedCredential[]> {
    const r = await call(this.o.endpoint, 'GET', `/api/v2/authorizations?orgID=${encodeURIComponent(this.o.orgId)}`, this.headers(), undefined, signal)
    if (r.status !== 200) throw new BackendError(`InfluxDB refused to list tokens: ${r.status} ${errorField(r.body, 'message')}`, r.status)
    const out: TaggedCredential[] = []
    for (const a of Listed.parse(JSON.parse(r.body)).authorizations) {
      const m = TAGGED_DESCRIPTION_RE.exec(a.description ?? '')
      if (m?.[1] !== undefined) out.push({ backendId: a.id, leaseId: m[1] })
    }
    return out
  }
}
