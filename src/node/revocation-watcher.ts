import type { Logger } from 'pino'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Crypto } from '../crypto/crypto.js'
import type { Identity } from '../identity/identity.js'
import { verifyRevocationList } from '../identity/revocation-list.js'

/** With a 5 s poll and prompt closing, a deleted member is cut off everywhere well within 15 s. */
export const REVOCATION_POLL_INTERVAL_MS = 5000

/**
 * Polls the authority's signed revocation list and tells the node about every identity that
 * appears in it (and every one that leaves it, when re-added as a member).
 */
export class RevocationWatcher {
  readonly revoked = new Set<string>()
  lastIssuedAt = 0
  polls = 0
  failures = 0

  constructor(
    private readonly fetch: (signal: AbortSignal) => Promise<Uint8Array>,
    private readonly crypto: Crypto,
    private readonly authority: Identity,
    private readonly log: Logger,
    private readonly onRevoked: (identifier: string) => void,
    private readonly onRestored: (identifier: string) => void,
    private readonly now: () => number,
    private readonly intervalMs = REVOCATION_POLL_INTERVAL_MS
  ) {}

  start(signal: AbortSignal): void {
    void this.loop(signal)
  }

  /** Applies one signed list; older lists than the last applied are ignored (no rollback). */
  apply(bytes: Uint8Array): void {
    const list = verifyRevocationList(this.crypto, this.authority, bytes, this.now())
    if (list.issuedAt < this.lastIssuedAt) return
    this.lastIssuedAt = list.issuedAt
    const current = new Set(list.revoked.map((r) => r.identifier))
    for (const id of current) {
      if (!this.revoked.has(id)) {
        this.revoked.add(id)
        this.log.warn({ identifier: id }, 'identity revoked by the authority: closing its channels and denying it')
        this.onRevoked(id)
      }
    }
    for (const id of this.revoked) {
      if (!current.has(id)) {
        this.revoked.delete(id)
        this.log.info({ identifier: id }, 'identity is a member again: no longer denied')
        this.onRestored(id)
      }
    }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        this.apply(await this.fetch(signal))
        this.polls++
      } catch (err) {
        if (signal.aborted) return
        this.failures++
        this.log.warn({ err: (err as Error).message }, 'could not fetch the revocation list; will retry')
      }
      try {
        await sleep(this.intervalMs, undefined, { signal })
      } catch {
        return
      }
    }
  }
}
