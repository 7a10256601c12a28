/** What a lease backend issues: how the backend names it, and the secret the client presents. */
export interface IssuedToken {
  backendId: string
  /** The `Authorization` header value the inlet injects. */
  authorization: string
  /** The secret alone, for people who use a lease directly (a v2 token, a v1 JWT or user:password). */
  token: string
}

export interface IssueRequest {
  leaseId: string
  identifier: string
  /** Unix milliseconds. */
  expiresAt: number
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
  readonly kind: 'v1' | 'v2' | 'v3'
  issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken>
  /** Idempotent: revoking what is already gone succeeds. */
  revoke(backendId: string, signal?: AbortSignal): Promise<void>
  /** Every credential tagged as a Portico lease, for the start-up orphan sweep. */
  listTagged(signal?: AbortSignal): Promise<TaggedCredential[]>
}

export const LEASE_TAG = 'portico-lease'
