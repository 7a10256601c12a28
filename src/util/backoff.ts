import { setTimeout as sleep } from 'node:timers/promises'

export const BACKOFF_MIN_MS = 250
export const BACKOFF_MAX_MS = 15_000

/** Exponential backoff with full jitter, so a thousand nodes retrying do not arrive together. */
export class Backoff {
  private attempt = 0

  constructor(private readonly minMs = BACKOFF_MIN_MS, private readonly maxMs = BACKOFF_MAX_MS) {}

  nextDelayMs(): number {
    const cap = Math.min(this.maxMs, this.minMs * 2 ** this.attempt)
    this.attempt = Math.min(this.attempt + 1, 30)
    return Math.max(this.minMs, Math.floor(Math.random() * cap))
  }

  reset(): void {
    this.attempt = 0
  }

  /** Waits the next delay; false if `signal` aborted. */
  async wait(signal: AbortSignal): Promise<boolean> {
    try {
      await sleep(this.nextDelayMs(), undefined, { signal })
      return true
    } catch {
      return false
    }
  }
}
