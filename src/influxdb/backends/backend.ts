import { BackendError } from './http.js'

/** What a lease backend issues: how the backend names it, and the secret the client presents. */
export interface IssuedToken {
  /** Which API issued it (an `api: auto` outlet learns this from the database). */
  backend: 'v1' | 'v2' | 'v3'
  backendId: string
  /** The `Authorization` header value the inlet injects. */
  authorization: string
  /** The secret alone, for people who use a lease directly (a v2 token, a v1 JWT or user:password). */
  token: string
  /** The permissions as granted, where the backend made them more exact (v2: buckets resolved to ids). */
  permissions?: Permission[]
}

export interface IssueRequest {
  leaseId: string
  identifier: string
  /** Unix milliseconds, by the lease manager's clock. */
  expiresAt: number
  /** The same as a duration from now, in milliseconds: what a backend that takes a duration sends, so that no other clock is read. */
  lifetimeMs: number
  permissions: Permission[]
}

export interface Permission {
  action: 'read' | 'write'
  resource: { type: string; id?: string; name?: string; orgID?: string; org?: string }
}

/** A backend credential that carries our tag, found when looking for orphans. */
export interface TaggedCredential {
  backendId: string
  leaseId: string
}

/** One InfluxDB flavour's way to issue and revoke credentials; every implementation passes one suite. */
export interface LeaseBackend {
  /** `auto` only while `api: auto` has not yet reached the database to learn which it is. */
  readonly kind: 'v1' | 'v2' | 'v3' | 'auto'
  issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken>
  /** Idempotent: revoking what is already gone succeeds. */
  revoke(backendId: string, signal?: AbortSignal): Promise<void>
  /** Every credential tagged as a Portico lease, for the start-up orphan sweep. */
  listTagged(signal?: AbortSignal): Promise<TaggedCredential[]>
  /**
   * Proves, before the outlet says it is ready, that the database takes the outlet's credentials
   * and will take the leases it issues. Without it, listing the tagged credentials is the proof.
   */
  verify?(signal?: AbortSignal): Promise<void>
}

export const LEASE_TAG = 'portico-lease'

const DATABASE_RE = /^[A-Za-z0-9_.-]{1,128}$/

/**
 * For backends where a bucket is a database (v1, v3): each named database and the actions granted
 * on it. A permission without a bucket name, or with a name no database may have, is refused.
 */
export function databaseActions(permissions: readonly Permission[], flavour: string): Map<string, Set<'read' | 'write'>> {
  const byDb = new Map<string, Set<'read' | 'write'>>()
  for (const p of permissions) {
    const db = p.resource.name
    if (p.resource.type !== 'buckets' || db === undefined) throw new BackendError(`${flavour} leases need bucket permissions with a name (the database)`)
    if (!DATABASE_RE.test(db)) throw new BackendError(`'${db.slice(0, 40)}' is not an acceptable database name`)
    byDb.set(db, (byDb.get(db) ?? new Set<'read' | 'write'>()).add(p.action))
  }
  return byDb
}
