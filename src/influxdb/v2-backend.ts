import { z } from 'zod'
import { BackendError, call, errorField, type Endpoint } from './http.js'
import { LEASE_TAG, type IssuedToken, type IssueRequest, type LeaseBackend, type TaggedCredential } from './backend.js'

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

/** InfluxDB 2.x OSS, Cloud, Timestream for InfluxDB: one authorization per lease, deleted at expiry. */
export class V2Backend implements LeaseBackend {
  readonly kind = 'v2'

  constructor(private readonly o: V2Options) {}

  private headers(): Record<string, string> {
    return { authorization: `Token ${this.o.allAccessToken}`, 'content-type': 'application/json', accept: 'application/json' }
  }

  async issue(req: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    const body = JSON.stringify({ orgID: this.o.orgId, description: leaseDescription(req.leaseId, req.identifier, req.expiresAt), permissions: req.permissions })
    const r = await call(this.o.endpoint, 'POST', '/api/v2/authorizations', this.headers(), body, signal)
    if (r.status !== 201) throw new BackendError(`InfluxDB refused to create a token: ${r.status} ${errorField(r.body, 'message')}`, r.status)
    const created = Created.parse(JSON.parse(r.body))
    return { backend: this.kind, backendId: created.id, authorization: `Token ${created.token}`, token: created.token }
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
