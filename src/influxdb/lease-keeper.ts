import type { Logger } from 'pino'
import type { LeaseGrant } from './lease-manager.js'

/** A lease is renewed once this fraction of its life has passed, so requests never carry an expired one. */
export const RENEW_AT_FRACTION = 2 / 3
/**
 * A lease with less life than this left is not handed to a request: the request could reach the
 * database after the lease ends (or at a database whose clock runs a little ahead).
 */
export const EXPIRY_MARGIN_MS = 1000
/** Distinct clients (per-client strategy) whose leases are kept at once. */
export const MAX_KEPT_LEASES = 10_000

interface Held {
  grant: LeaseGrant
  issuedAt: number
  renewing: Promise<LeaseGrant> | undefined
}

/**
 * The inlet's leases, one per key ("shared", or one per client address): fetched on first use,
 * renewed at 2/3 of their life while the old one still works, replaced at once after a 401.
 */
export class LeaseKeeper {
  private readonly held = new Map<string, Held>()
  private readonly pending = new Map<string, Promise<LeaseGrant>>()
  renewals = 0

  /** `obtain` asks the lease manager for a lease; it carries its own AbortSignal (the node's lifetime). */
  constructor(private readonly obtain: () => Promise<LeaseGrant>, private readonly log: Logger, private readonly now: () => number = Date.now) {}

  async get(key: string): Promise<LeaseGrant> {
    const h = this.held.get(key)
    const now = this.now()
    if (h !== undefined && h.grant.expiresAt > now + EXPIRY_MARGIN_MS) {
      const renewAt = h.issuedAt + (h.grant.expiresAt - h.issuedAt) * RENEW_AT_FRACTION
      if (now >= renewAt && h.renewing === undefined) {
        h.renewing = this.fetch(key).finally(() => { h.renewing = undefined })
        h.renewing.catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'lease renewal failed; the current lease is still valid, will retry'))
      }
      return h.grant
    }
    return this.fetch(key)
  }

  /** After a 401: this grant is no good (expired or revoked); the next `get` fetches another. */
  invalidate(key: string, grantId: string): void {
    if (this.held.get(key)?.grant.id === grantId) this.held.delete(key)
  }

  current(): { key: string; id: string; expiresAt: string }[] {
    return [...this.held.entries()].map(([key, h]) => ({ key, id: h.grant.id, expiresAt: new Date(h.grant.expiresAt).toISOString() }))
  }

  private fetch(key: string): Promise<LeaseGrant> {
    const inFlight = this.pending.get(key)
    if (inFlight !== undefined) return inFlight
    const p = this.obtain().then((grant) => {
      if (!this.held.has(key) && this.held.size >= MAX_KEPT_LEASES) {
        const oldest = this.held.keys().next().value
        if (oldest !== undefined) this.held.delete(oldest)
      }
      this.held.set(key, { grant, issuedAt: this.now(), renewing: undefined })
      this.renewals++
      this.log.info({ lease: grant.id, expiresAt: new Date(grant.expiresAt).toISOString() }, 'lease obtained')
      return grant
    }).finally(() => this.pending.delete(key))
    this.pending.set(key, p)
    return p
  }
}
