import type { Logger } from 'pino'
import { setTimeout as sleep } from 'node:timers/promises'
import type { IssuedCredential } from '../authority/authority-client.js'
import type { CredentialAndPurposeKey } from '../identity/credential.js'
import { Backoff } from '../util/backoff.js'

/**
 * Keeps this node's credential from the project authority fresh: fetched at start, refreshed at
 * half-life, retried with backoff. `credentials` is a provider, read at every handshake.
 */
export class CredentialManager {
  private current: IssuedCredential | undefined
  private readonly backoff = new Backoff()
  refreshes = 0
  failures = 0

  constructor(
    private readonly fetch: (signal: AbortSignal) => Promise<IssuedCredential>,
    private readonly log: Logger,
    /** Called after each refresh, to pass the new credential into open channels. */
    private readonly onRefresh: () => void,
    private readonly now: () => number
  ) {}

  readonly credentials = (): readonly CredentialAndPurposeKey[] => this.current === undefined || this.current.expiresAt < this.now() ? [] : [this.current]

  get expiresAt(): number | undefined {
    return this.current?.expiresAt
  }

  get attributes(): Record<string, string> | undefined {
    return this.current?.attributes
  }

  /** Resolves once the first credential is in hand (or `signal` aborts); then keeps refreshing. */
  async start(signal: AbortSignal): Promise<void> {
    await this.obtain(signal)
    void this.loop(signal)
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && this.current !== undefined) {
      const { createdAt, expiresAt } = this.current
      const dueMs = Math.max(0, (createdAt + (expiresAt - createdAt) / 2 - this.now()) * 1000)
      try {
        await sleep(dueMs, undefined, { signal })
      } catch {
        return
      }
      await this.obtain(signal)
      if (!signal.aborted) this.onRefresh()
    }
  }

  private async obtain(signal: AbortSignal): Promise<void> {
    this.backoff.reset()
    while (!signal.aborted) {
      try {
        this.current = await this.fetch(signal)
        this.refreshes++
        this.log.info({ expiresAt: new Date(this.current.expiresAt * 1000).toISOString(), attributes: this.current.attributes }, 'credential obtained')
        return
      } catch (err) {
        if (signal.aborted) return
        this.failures++
        const e = err as Error & { code?: string }
        this.log.warn({ err: e.message, code: e.code }, e.code === 'not-member'
          ? 'the authority refuses a credential: this identity is not (or no longer) a member; retrying'
          : 'could not obtain a credential; retrying')
        if (!await this.backoff.wait(signal)) return
      }
    }
  }
}
