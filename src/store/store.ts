import type { Attributes } from '../identity/credential.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'

/** What a member may do at the authority, beyond holding a credential for its attributes. */
export type Role = 'member' | 'enroller' | 'admin'
export const ROLES: readonly Role[] = ['member', 'enroller', 'admin']

export interface MemberRecord {
  identifier: string
  attributes: Attributes
  role: Role
  /** Unix seconds. */
  addedAt: number
  addedBy: string | null
  /** An enroller's scope: patterns (`name=value`, `name=*`, `name=prefix*`) of the attributes its tickets may grant. */
  mayGrant?: string[]
}

export interface TicketRecord {
  /** SHA-256 of the one-time code, hex: the code itself is never stored. */
  codeHash: string
  attributes: Attributes
  role: Role
  usesLeft: number
  expiresAt: number
  createdAt: number
  createdBy: string
  /** For an enroller ticket: the scope its redeemer gets. */
  mayGrant?: string[]
}

export interface PolicyRecord {
  resource: string
  expression: string
  updatedAt: number
}

export interface RevocationRecord {
  identifier: string
  revokedAt: number
}

/** One backend credential issued to one identity; times in milliseconds, for on-time revocation. */
export interface LeaseRecord {
  id: string
  identifier: string
  /** The influxdb-outlet that issued it. */
  outlet: string
  backend: 'v1' | 'v2' | 'v3'
  /** How the backend names it: an authorization id (v2), a user name (v1), a token name (v3). Never the secret. */
  backendId: string
  permissions: string
  createdAt: number
  expiresAt: number
  revokedAt: number | null
  revokeAttempts: number
  nextAttemptAt: number
  lastError: string | null
  /** Why it is due before its time (its member was deleted, its holder revoked it); absent: it expired. */
  revokeReason?: string
}

/**
 * Leases of every influxdb-outlet of a node share one table; each query names its outlet, so an
 * outlet only counts, sweeps and revokes what it issued itself (with its own backend).
 */
export interface LeaseRepository {
  insert(lease: LeaseRecord): Promise<void>
  get(id: string): Promise<LeaseRecord | undefined>
  /** The outlet's leases not yet revoked, of one identity or all. */
  active(outlet: string, identifier?: string): Promise<LeaseRecord[]>
  countActive(outlet: string, identifier?: string): Promise<number>
  /** The outlet's active leases past expiry whose next revocation attempt is due. */
  due(outlet: string, now: number, limit: number): Promise<LeaseRecord[]>
  /**
   * Takes up to `limit` due leases for one sweeper: each is held (not due to anyone else) until
   * `holdUntil`, so outlet nodes sharing the store never revoke the same lease at once, and one
   * that dies holding leases leaves them to the others after that time. In expiry order.
   */
  claimDue(outlet: string, now: number, limit: number, holdUntil: number): Promise<LeaseRecord[]>
  markRevoked(id: string, now: number): Promise<void>
  markFailed(id: string, error: string, nextAttemptAt: number): Promise<void>
  /**
   * Makes one live lease due now, for `reason` (its holder revoked it), held by the caller until
   * `holdUntil` as `claimDue` would: the caller revokes it at once, and if the database refuses,
   * the sweeper tries again after its backoff, not at the lease's own expiry. False when the lease
   * is revoked or past expiry already (the sweeper's).
   */
  expireLease(id: string, now: number, reason: string, holdUntil: number): Promise<boolean>
  /** Makes every active lease of `identifier` at the outlet due now, for `reason` (the member was deleted). */
  expireIdentity(outlet: string, identifier: string, now: number, reason: string): Promise<number>
  /** The same for every live lease of the outlet (it was deleted): all become due for revocation now. */
  expireOutlet(outlet: string, now: number, reason: string): Promise<number>
}

export class StoreError extends PorticoError {
  override readonly code: string = 'store'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'StoreError'
}

export class TicketRejectedError extends PorticoError {
  override readonly code: string = 'ticket-rejected'
  override readonly kind: ErrorKind = 'refused'
  override name = 'TicketRejectedError'
}

export interface MemberRepository {
  /** Adds or replaces a member; clears any earlier revocation of that identity. */
  put(member: MemberRecord): Promise<void>
  get(identifier: string): Promise<MemberRecord | undefined>
  list(options?: { limit?: number; after?: string }): Promise<MemberRecord[]>
  count(): Promise<number>
  /** Deletes the member and records its revocation in the same transaction. */
  delete(identifier: string, now: number): Promise<boolean>
}

export interface TicketRepository {
  create(ticket: TicketRecord): Promise<void>
  /**
   * Atomically uses one use of the ticket and makes `identifier` a member with its attributes:
   * of any number of concurrent redemptions of a one-use ticket, exactly one succeeds.
   */
  redeem(codeHash: string, identifier: string, now: number): Promise<MemberRecord>
  /** Removes tickets that expired or are used up. */
  prune(now: number): Promise<number>
  /** Outstanding tickets (uses left, not expired), oldest first; `createdBy` limits them to one creator's. */
  outstanding(now: number, limit: number, createdBy?: string): Promise<TicketRecord[]>
  /** Deletes the outstanding ticket whose code hash starts with `idPrefix` (of `createdBy`'s, if given); whether one was. */
  revoke(idPrefix: string, createdBy?: string): Promise<boolean>
}

export interface PolicyRepository {
  set(policy: PolicyRecord): Promise<void>
  get(resource: string): Promise<PolicyRecord | undefined>
  list(): Promise<PolicyRecord[]>
  delete(resource: string): Promise<boolean>
}

export interface RevocationRepository {
  list(since?: number): Promise<RevocationRecord[]>
  /** Forgets revocations older than `before`: credentials issued before them have expired. */
  prune(before: number): Promise<number>
}

/** The project a store serves: its name and its authority's identifier. */
export interface ProjectRecord {
  name: string
  authority: string
  createdAt: number
}

/** A project node serving the project from this store; times in Unix seconds. */
export interface ReplicaRecord {
  route: string
  startedAt: number
  seenAt: number
}

export interface ProjectRepository {
  /**
   * Binds the store to `project` if it serves none yet, and returns the project it serves: a
   * caller whose project differs must not serve from it.
   */
  claim(project: ProjectRecord): Promise<ProjectRecord>
  get(): Promise<ProjectRecord | undefined>
  /** Records that a replica at `route` serves now (first call: it started). */
  seen(route: string, now: number, started: boolean): Promise<void>
  /** Replicas seen since `since`, in the order they started. */
  replicas(since: number): Promise<ReplicaRecord[]>
  /** Forgets a replica (it was retired); whether it was known. */
  forget(route: string): Promise<boolean>
}

/** One store per node: SQLite by default, PostgreSQL on request; both pass one test suite. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  readonly members: MemberRepository
  readonly tickets: TicketRepository
  readonly policies: PolicyRepository
  readonly revocations: RevocationRepository
  readonly leases: LeaseRepository
  readonly project: ProjectRepository
  /** Applied migration version. */
  schemaVersion(): Promise<number>
  /** Bytes used on disk (SQLite file or PostgreSQL database). */
  sizeBytes(): Promise<number>
  close(): Promise<void>
}
