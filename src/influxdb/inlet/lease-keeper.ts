import type { Logger } from 'pino'
import type { LeaseGrant } from '../leases/lease-types.js'
import { Backoff } from '../../util/backoff.js'
import { setNewest } from '../../util/recency-map.js'
import { PorticoError, type ErrorKind } from '../../util/errors.js'

/** A lease is renewed once this fraction of its life has passed, so requests never carry an expired one. */
export const RENEW_AT_FRACTION = 2 / 3
/**
 * A lease with less life than this left is not handed to a request: the request could reach the
 * database after the lease ends (or at a database whose clock runs a little ahead).
 */
export const EXPIRY_MARGIN_MS = 1000
/** Distinct clients (per-client strategy) whose leases, or last failures, are kept at once. */
export const MAX_KEPT_LEASES = 10_000
/**
 * After a lease request fails, the next one for the same key waits at least this long, then twice
 * as long after each further failure (with jitter), up to LEASE_RETRY_MAX_MS. Without it a refusal
 * that holds (a cap reached, a policy, the outlet gone) was asked again by every request: hundreds
 * of lease calls and warnings a second from one busy inlet.
 */
export const LEASE_RETRY_MIN_MS = 250
export const LEASE_RETRY_MAX_MS = 5000
/**
 * After the database refuses a lease (401) and it is replaced, a refusal of the replacement within
 * this long does not replace it again: a database that refuses every lease (a shared-secret it does
 * not have, a wrong admin) would otherwise make a new lease, and a new database user, per request.
 */
export const REPLACE_AFTER_401_MIN_MS = 60_000

/** No lease for now: the last attempt failed, and the next is not due yet. */
export class LeaseUnavailableError extends PorticoError {
  override readonly code: string = 'lease-unavailable'
  override readonly kind: ErrorKind = 'unavailable'
  constructor(readonly retryAfterMs: number, options: { cause: Error }) {
    super(`${options.cause.message} (next attempt in ${Math.ceil(retryAfterMs)} ms)`, options)
    this.name = 'LeaseUnavailableError'
  }
}

interface Failed {
  error: Error
  retryAt: number
  backoff: Backoff
}

/** A lease in hand; both times are by this inlet's clock, never mixed with the outlet's. */
interface Held {
  grant: LeaseGrant
  obtainedAt: number
  until: number
  renewing: Promise<LeaseGrant> | undefined
}

/**
 * The inlet's leases, one per key ("shared", or one per client address): fetched on first use,
 * renewed at 2/3 of their life while the old one still works, replaced at once after a 401. A key
 * whose last request failed is asked again only after a backoff; until then a request that needs
 * a lease is refused at once with the reason (LeaseUnavailableError).
 */
export class LeaseKeeper {
  private readonly held = new Map<string, Held>()
  private readonly pending = new Map<string, Promise<LeaseGrant>>()
  private readonly failed = new Map<string, Failed>()
  /** When the lease of each key was last replaced after a 401. */
  private readonly replacedAfter401 = new Map<string, number>()
  /** Leases obtained (the first, and every renewal or replacement). */
  renewals = 0
  /** Lease requests that failed (each then backs off). */
  failures = 0

  /** `obtain` asks the lease manager for a lease; it carries its own AbortSignal (the node's lifetime). */
  constructor(private readonly obtain: () => Promise<LeaseGrant>, private readonly log: Logger, private readonly now: () => number = Date.now) {}

  async get(key: string): Promise<LeaseGrant> {
    const h = this.held.get(key)
    const now = this.now()
    const f = this.failed.get(key)
    const due = f === undefined || now >= f.retryAt
    if (h !== undefined && h.until > now + EXPIRY_MARGIN_MS) {
      const renewAt = h.obtainedAt + (h.until - h.obtainedAt) * RENEW_AT_FRACTION
      if (now >= renewAt && h.renewing === undefined && due) {
        h.renewing = this.fetch(key).finally(() => { h.renewing = undefined })
        h.renewing.catch((err: unknown) => this.log.warn({ err: (err as Error).message, retryInMs: this.retryAfterMs(key) }, 'lease renewal failed; the current lease is still valid, will retry'))
      }
      return h.grant
    }
    if (f !== undefined && !due && !this.pending.has(key)) throw new LeaseUnavailableError(f.retryAt - now, { cause: f.error })
    return this.fetch(key)
  }

  /** How long until the next lease request for `key` is due, if its last one failed. */
  retryAfterMs(key: string): number | undefined {
    const f = this.failed.get(key)
    return f === undefined ? undefined : Math.max(0, f.retryAt - this.now())
  }

  /**
   * After a 401: this grant is no good (expired or revoked); the next `get` fetches another. At
   * most once per REPLACE_AFTER_401_MIN_MS for a key: returns false when it is not replaced (the
   * request then gets the database's 401).
   */
  invalidate(key: string, grantId: string): boolean {
    if (this.held.get(key)?.grant.id !== grantId) return true
    const now = this.now()
    const last = this.replacedAfter401.get(key)
    if (last !== undefined && now - last < REPLACE_AFTER_401_MIN_MS) {
      this.log.warn({ lease: grantId, nextReplacementInMs: REPLACE_AFTER_401_MIN_MS - (now - last) }, 'the database refused a lease just obtained; not asking for another yet (check the outlet\'s database settings)')
      return false
    }
    setNewest(this.replacedAfter401, key, now, MAX_KEPT_LEASES)
    this.held.delete(key)
    return true
  }

  /**
   * Why `key` has no usable lease now (undefined when it has one): the last failure's reason, or
   * that none was obtained yet.
   */
  unavailable(key: string): string | undefined {
    const h = this.held.get(key)
    if (h !== undefined && h.until > this.now() + EXPIRY_MARGIN_MS) return undefined
    return this.failed.get(key)?.error.message ?? (this.pending.has(key) ? 'a lease is being obtained' : 'no lease obtained yet')
  }

  current(): { key: string; id: string; expiresAt: string }[] {
    return [...this.held.entries()].map(([key, h]) => ({ key, id: h.grant.id, expiresAt: new Date(h.grant.expiresAt).toISOString() }))
  }

  private fetch(key: string): Promise<LeaseGrant> {
    const inFlight = this.pending.get(key)
    if (inFlight !== undefined) return inFlight
    const p = this.obtain().then((grant) => {
      const obtainedAt = this.now()
      setNewest(this.held, key, { grant, obtainedAt, until: obtainedAt + grant.expiresInMs, renewing: undefined }, MAX_KEPT_LEASES)
      this.failed.delete(key)
      this.renewals++
      this.log.info({ lease: grant.id, expiresAt: new Date(grant.expiresAt).toISOString() }, 'lease obtained')
      return grant
    }, (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err))
      this.recordFailure(key, error)
      throw error
    }).finally(() => this.pending.delete(key))
    this.pending.set(key, p)
    return p
  }

  private recordFailure(key: string, error: Error): void {
    this.failures++
    const f = this.failed.get(key) ?? { error, retryAt: 0, backoff: new Backoff(LEASE_RETRY_MIN_MS, LEASE_RETRY_MAX_MS) }
    f.error = error
    f.retryAt = this.now() + f.backoff.nextDelayMs()
    setNewest(this.failed, key, f, MAX_KEPT_LEASES)
  }
}
