import { createHash, randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Attributes } from '../../identity/credential.js'
import type { LeaseRecord, LeaseRepository } from '../../store/store.js'
import type { LeaseBackend } from '../backends/backend.js'
import { renderPermissions } from './permissions.js'
import { LeaseLimitError, LeaseNotFoundError, OutletNotReadyError, type LeaseGrant, type LeaseView } from './lease-types.js'
import { CallLimit, CallLimitError } from './call-limit.js'
import { DEFAULT_RPC_TIMEOUT_MS } from '../../services/rpc.js'
import { Backoff } from '../../util/backoff.js'
import { setNewest } from '../../util/recency-map.js'

export const DEFAULT_LEASE_TTL_SECONDS = 3600
export const DEFAULT_MAX_LEASES_PER_IDENTITY = 10
export const DEFAULT_MAX_LEASES = 100_000
/** The sweeper looks for due leases this often: revocation lands well within 2 s of expiry. */
export const SWEEP_INTERVAL_MS = 250
export const SWEEP_BATCH = 200
export const SWEEP_CONCURRENCY = 32
export const REVOKE_RETRY_MAX_MS = 60_000
/**
 * A sweep holds the leases it takes for this long: outlet nodes sharing a store never revoke one
 * lease together, and the leases of a node that dies mid-sweep go to another after this time.
 */
export const SWEEP_CLAIM_MS = 15_000
/**
 * At start-up a tagged credential the store does not know is looked up again after this long
 * before it is revoked: a sibling outlet sharing the store may have just issued it and not yet
 * recorded it (it records it right after the database answers).
 */
export const RECONCILE_GRACE_MS = 5000
/** Tries at marking a revoked identity's leases due, with backoff from 250 ms to 2 s: at most about 10 s in all, inside the 15 s a member deletion has. */
export const REVOKE_IDENTITY_ATTEMPTS = 8
export const REVOKE_IDENTITY_FIRST_WAIT_MS = 250
export const REVOKE_IDENTITY_MAX_WAIT_MS = 2000
/**
 * Leases being issued at once. A database may apply user and token changes one after another
 * (InfluxDB 1.6.7 was seen to), so a revocation waits behind every issue already sent: this bounds
 * that wait, keeping revocation on time while many clients ask for leases together.
 */
export const MAX_CONCURRENT_ISSUES = 4
/** Lease requests waiting for an issue slot; more are refused, to be asked again. */
export const MAX_WAITING_ISSUES = 10_000
/**
 * How long a lease request waits for an issue slot: half as long as its caller waits for the
 * answer (an RPC's time-out), leaving the other half for the database. A request still queued after
 * that is dropped, not issued: its caller is about to give up and will ask again, and a lease
 * issued to nobody would live on in the database.
 */
export const MAX_ISSUE_WAIT_MS = DEFAULT_RPC_TIMEOUT_MS / 2
/** The revoke reason of a lease that was ready only after its caller had stopped waiting. */
export const ISSUED_TOO_LATE = 'issued after its caller stopped waiting'
/** The reason logged for the leases of a deleted member. */
export const REVOKED_MEMBER = 'member deleted'
/** The revoke reason of the leases a lease admin ended. */
export const REVOKED_BY_ADMIN = 'revoked by a lease admin'
/** The revoke reason of a lease its holder ended. */
export const REVOKED_BY_HOLDER = 'revoked by its holder'
/** The revoke reason of the leases of an outlet that was deleted. */
export const OUTLET_DELETED = 'outlet deleted'

export interface LeaseManagerOptions {
  outlet: string
  /**
   * Names this outlet across every node that may share its database (the node's identifier and
   * the outlet's name): its lease ids carry a mark of it, so at start-up an outlet revokes only
   * orphans of its own, never the live leases of an outlet on another node with another store.
   */
  owner: string
  backend: LeaseBackend
  leases: LeaseRepository
  log: Logger
  orgId: string
  permissions: string
  ttlSeconds: number
  maxPerIdentity: number
  maxTotal: number
  /** The database's Host header (databaseHost), handed out with every lease for the inlets. */
  host?: string
  now?: () => number
  /** The sweeper's pause between sweeps (SWEEP_INTERVAL_MS). */
  sweepIntervalMs?: number
  /** How long a request waits for an issue slot (MAX_ISSUE_WAIT_MS). */
  issueWaitMs?: number
  /** How long reconcile waits before it revokes a credential the store does not know (RECONCILE_GRACE_MS). */
  reconcileGraceMs?: number
}

/** Hex digits of the owner's mark that start each lease id; 16 random hex digits follow. */
/** Revoked identities remembered for in-flight issues. */
export const MAX_REVOKED_IDENTITIES = 10_000
export const LEASE_ID_MARK_HEX = 8
const LEASE_ID_RANDOM_BYTES = 8
/** Lease ids from before owner marks: 16 random hex digits, judged ours as they always were. */
const UNMARKED_ID_RE = /^[0-9a-f]{16}$/

export function ownerMark(owner: string): string {
  return createHash('sha256').update(owner).digest('hex').slice(0, LEASE_ID_MARK_HEX)
}

export interface LeaseStats {
  issued: number
  revoked: number
  revokeFailures: number
  issueFailures: number
  /** Requests dropped after waiting MAX_ISSUE_WAIT_MS for an issue slot. */
  issueAbandoned: number
}

function view(l: LeaseRecord): LeaseView {
  const iso = (ms: number): string => new Date(ms).toISOString()
  return {
    id: l.id, identifier: l.identifier, backend: l.backend, createdAt: iso(l.createdAt), expiresAt: iso(l.expiresAt),
    revokedAt: l.revokedAt === null ? null : iso(l.revokedAt), permissions: JSON.parse(l.permissions) as unknown
  }
}

/**
 * Issues each identity its own backend credential for a fixed time, keeps them in the store, and
 * revokes them on time (and at start-up, any tagged credential it does not know or that expired).
 */
export class LeaseManager {
  readonly stats: LeaseStats = { issued: 0, revoked: 0, revokeFailures: 0, issueFailures: 0, issueAbandoned: 0 }
  onRevoked: ((latenessMs: number) => void) | undefined
  /** Why the database would refuse this outlet's leases (its credentials are not yet proven); no lease is issued meanwhile. */
  unavailable: string | undefined
  private readonly now: () => number
  private readonly issuing = new CallLimit(MAX_CONCURRENT_ISSUES, MAX_WAITING_ISSUES, 'lease requests')
  private readonly revoking = new CallLimit(SWEEP_CONCURRENCY, SWEEP_BATCH, 'revocations')

  private readonly mark: string
  /** When identities were revoked while this node runs: an issue that was in flight then is made due as soon as it lands (a member added again later is not). */
  private readonly revokedIdentities = new Map<string, number>()

  constructor(private readonly o: LeaseManagerOptions) {
    this.now = o.now ?? Date.now
    this.mark = ownerMark(o.owner)
  }

  /** Issued by this outlet (or unmarked, from before marks): another node's outlet may own the rest. */
  private isOurs(leaseId: string): boolean {
    return leaseId.startsWith(this.mark) || UNMARKED_ID_RE.test(leaseId)
  }

  get kind(): string {
    return this.o.backend.kind
  }

  async create(subject: { identifier: string; attributes: Attributes }, signal?: AbortSignal): Promise<LeaseGrant> {
    const wait = AbortSignal.timeout(this.o.issueWaitMs ?? MAX_ISSUE_WAIT_MS)
    try {
      return await this.issuing.run(() => this.issue(subject, signal), signal === undefined ? wait : AbortSignal.any([signal, wait]))
    } catch (err) {
      if (!wait.aborted || signal?.aborted === true) throw err
      this.stats.issueAbandoned++
      throw new CallLimitError(`the lease request waited ${this.o.issueWaitMs ?? MAX_ISSUE_WAIT_MS} ms for its turn, as long as a caller waits; ask again`, { cause: err })
    }
  }

  /**
   * For a caller that waits `answerWithinMs` for the lease: one ready later is revoked at once
   * rather than left to nobody (the caller asks again, and would otherwise pile up leases, each a
   * database user or token, until max-leases-per-identity refuses it for good).
   */
  async createWithin(subject: { identifier: string; attributes: Attributes }, answerWithinMs: number): Promise<LeaseGrant> {
    const started = this.now()
    const grant = await this.create(subject)
    const took = this.now() - started
    if (took <= answerWithinMs) return grant
    this.stats.issueAbandoned++
    await this.revokeOne(await this.own(subject.identifier, grant.id), ISSUED_TOO_LATE)
    throw new CallLimitError(`the lease was ready after ${took} ms, later than its caller waits (${answerWithinMs} ms); it was revoked: ask again`)
  }

  private async issue(subject: { identifier: string; attributes: Attributes }, signal?: AbortSignal): Promise<LeaseGrant> {
    // Every lease would be refused at its first use, and each refusal would ask for another.
    if (this.unavailable !== undefined) throw new OutletNotReadyError(`this outlet cannot issue leases now: ${this.unavailable}`)
    const permissions = renderPermissions(this.o.permissions, this.o.orgId, subject.attributes)
    if (await this.o.leases.countActive(this.o.outlet, subject.identifier) >= this.o.maxPerIdentity) {
      throw new LeaseLimitError(`${subject.identifier} already holds ${this.o.maxPerIdentity} active leases (max-leases-per-identity)`)
    }
    if (await this.o.leases.countActive(this.o.outlet) >= this.o.maxTotal) throw new LeaseLimitError(`the outlet holds its maximum of ${this.o.maxTotal} active leases`)
    const id = `${this.mark}${randomBytes(LEASE_ID_RANDOM_BYTES).toString('hex')}`
    const createdAt = this.now()
    const lifetimeMs = this.o.ttlSeconds * 1000
    const expiresAt = createdAt + lifetimeMs
    let issued
    try {
      issued = await this.o.backend.issue({ leaseId: id, identifier: subject.identifier, expiresAt, lifetimeMs, permissions }, signal)
    } catch (err) {
      this.stats.issueFailures++
      throw err
    }
    const granted = issued.permissions ?? permissions
    try {
      await this.o.leases.insert({
        id, identifier: subject.identifier, outlet: this.o.outlet, backend: issued.backend, backendId: issued.backendId,
        permissions: JSON.stringify(granted), createdAt, expiresAt, revokedAt: null, revokeAttempts: 0, nextAttemptAt: 0, lastError: null
      })
    } catch (err) {
      // Never leave a live credential the store does not know.
      await this.o.backend.revoke(issued.backendId).catch(() => undefined)
      throw err
    }
    // A lease whose issue was in flight when its holder was revoked is due at once, as the others were.
    if ((this.revokedIdentities.get(subject.identifier) ?? -Infinity) >= createdAt) await this.o.leases.expireIdentity(this.o.outlet, subject.identifier, this.now(), REVOKED_MEMBER)
    this.stats.issued++
    this.o.log.info({ lease: id, identifier: subject.identifier, expiresAt: new Date(expiresAt).toISOString(), backend: issued.backend }, 'lease issued')
    return { id, expiresAt, expiresInMs: Math.max(0, expiresAt - this.now()), authorization: issued.authorization, token: issued.token, backend: issued.backend, permissions: granted, ...(this.o.host !== undefined ? { host: this.o.host } : {}) }
  }

  async list(identifier: string): Promise<LeaseView[]> {
    return (await this.o.leases.active(this.o.outlet, identifier)).map(view)
  }

  async show(identifier: string, id: string): Promise<LeaseView> {
    return view(await this.own(identifier, id))
  }

  async revoke(identifier: string, id: string): Promise<void> {
    const l = await this.own(identifier, id)
    if (l.revokedAt !== null) return
    // Due first: should the database refuse now, the sweeper tries again after its backoff, not
    // only when the lease would have expired anyway.
    const now = this.now()
    if (!await this.o.leases.expireLease(id, now, REVOKED_BY_HOLDER, now + SWEEP_CLAIM_MS)) return
    await this.revokeOne({ ...l, expiresAt: now }, REVOKED_BY_HOLDER)
  }

  /** A lease this outlet issued to `identifier`; any other is, to the caller, no lease at all. */
  private async own(identifier: string, id: string): Promise<LeaseRecord> {
    const l = await this.o.leases.get(id)
    if (l === undefined || l.identifier !== identifier || l.outlet !== this.o.outlet) throw new LeaseNotFoundError(`no such lease: ${id} is not one of yours`)
    return l
  }

  /**
   * The outlet is deleted: it issues no more leases, and every live one becomes due now, so the
   * sweeper (which goes on) revokes them all within its interval.
   */
  async retire(): Promise<number> {
    this.unavailable = 'the outlet was deleted'
    const n = await this.o.leases.expireOutlet(this.o.outlet, this.now(), OUTLET_DELETED)
    this.o.log.info({ leases: n }, 'outlet deleted: revoking its leases')
    return n
  }

  /** Every lease of this outlet, of every holder: for the outlet's lease admins. */
  async listAll(): Promise<LeaseView[]> {
    return (await this.o.leases.active(this.o.outlet)).map(view)
  }

  /** A lease admin ends every lease of one identity now (they become due; the sweeper revokes them within a sweep). */
  async revokeAllOf(identifier: string, by: string): Promise<number> {
    const n = await this.o.leases.expireIdentity(this.o.outlet, identifier, this.now(), REVOKED_BY_ADMIN)
    this.o.log.warn({ identifier, by, leases: n }, 'a lease admin revoked an identity\'s leases')
    return n
  }

  /** The member was deleted: all its leases become due now; the sweeper revokes them within a sweep. */
  async revokeIdentity(identifier: string, signal: AbortSignal): Promise<number> {
    setNewest(this.revokedIdentities, identifier, this.now(), MAX_REVOKED_IDENTITIES)
    // A deleted member's leases must be gone within 15 s: a store that fails for a moment is asked again.
    const backoff = new Backoff(REVOKE_IDENTITY_FIRST_WAIT_MS, REVOKE_IDENTITY_MAX_WAIT_MS)
    for (let attempt = 1; ; attempt++) {
      try {
        const n = await this.o.leases.expireIdentity(this.o.outlet, identifier, this.now(), REVOKED_MEMBER)
        if (n > 0) this.o.log.warn({ identifier, leases: n }, 'identity revoked: revoking its leases')
        return n
      } catch (err) {
        if (attempt >= REVOKE_IDENTITY_ATTEMPTS) throw err
        this.o.log.warn({ identifier, attempt, err: (err as Error).message }, 'could not mark a revoked identity\'s leases for revocation; retrying')
        if (!await backoff.wait(signal)) throw err
      }
    }
  }

  /**
   * Revokes every backend credential tagged as one of this outlet's leases whose lease is unknown,
   * expired or revoked: a crash leaves no orphan. Other outlets' marks are left to them.
   */
  async reconcile(signal?: AbortSignal): Promise<number> {
    const tagged = (await this.o.backend.listTagged(signal)).filter((t) => this.isOurs(t.leaseId))
    let n = 0
    const unknown: typeof tagged = []
    for (const t of tagged) {
      const l = await this.o.leases.get(t.leaseId)
      if (l === undefined) {
        unknown.push(t)
        continue
      }
      // Not the credential the store names for its lease, or the lease was revoked: an orphan. The
      // lease itself, when live, is left alone.
      if (l.backendId !== t.backendId || l.revokedAt !== null) await this.revokeOrphan(t.backendId, t.leaseId, signal)
      else if (l.expiresAt <= this.now()) await this.revokeOne(l, 'expired while the outlet was down')
      else continue
      n++
    }
    if (unknown.length === 0) return n
    await sleep(this.o.reconcileGraceMs ?? RECONCILE_GRACE_MS, undefined, signal !== undefined ? { signal } : {})
    for (const t of unknown) {
      // Recorded meanwhile: a sibling's lease, live (the sweep revokes it when it is due).
      if (await this.o.leases.get(t.leaseId) !== undefined) continue
      await this.revokeOrphan(t.backendId, t.leaseId, signal)
      n++
    }
    return n
  }

  private async revokeOrphan(backendId: string, leaseId: string, signal?: AbortSignal): Promise<void> {
    await this.o.backend.revoke(backendId, signal)
    this.o.log.warn({ lease: leaseId }, 'revoked an orphaned lease credential found in the database')
  }

  /** Runs until `signal` aborts: each sweep revokes the leases that are due. */
  async sweep(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const now = this.now()
        const due = await this.o.leases.claimDue(this.o.outlet, now, SWEEP_BATCH, now + SWEEP_CLAIM_MS)
        // A sliding window, not batches: one slow revocation does not hold up the others.
        await Promise.all(due.map((l) => this.revoking.run(() => this.revokeOne(l, l.revokeReason ?? 'expired'))))
        if (due.length === SWEEP_BATCH) continue
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'lease sweep failed; will retry')
      }
      try {
        await sleep(this.o.sweepIntervalMs ?? SWEEP_INTERVAL_MS, undefined, { signal })
      } catch {
        return
      }
    }
  }

  private async revokeOne(l: LeaseRecord, reason: string): Promise<void> {
    try {
      await this.o.backend.revoke(l.backendId)
    } catch (err) {
      this.stats.revokeFailures++
      const wait = Math.min(REVOKE_RETRY_MAX_MS, 500 * 2 ** l.revokeAttempts)
      await this.o.leases.markFailed(l.id, (err as Error).message, this.now() + wait)
      this.o.log.warn({ lease: l.id, identifier: l.identifier, attempt: l.revokeAttempts + 1, retryInMs: wait, err: (err as Error).message }, 'lease revocation failed; will retry')
      return
    }
    const now = this.now()
    await this.o.leases.markRevoked(l.id, now)
    this.stats.revoked++
    const lateness = Math.max(0, now - l.expiresAt)
    this.onRevoked?.(lateness)
    this.o.log.info({ lease: l.id, identifier: l.identifier, reason, latenessMs: reason === 'expired' ? lateness : undefined }, 'lease revoked')
  }
}
