import { PorticoError, type ErrorKind } from '../../util/errors.js'
export class CallLimitError extends PorticoError {
  override readonly code: string = 'call-limit'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'CallLimitError'
}

/**
 * At most `limit` calls run at once; up to `maxWaiting` more wait their turn, in order, and any
 * beyond that are refused at once rather than queued without bound.
 */
export class CallLimit {
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(private readonly limit: number, private readonly maxWaiting: number, private readonly what: string) {}

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running < this.limit) this.running++
    else await this.turn(signal)
    try {
      return await fn()
    } finally {
      // The slot passes straight to the next in line, so `running` never dips below a waiter.
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.running--
    }
  }

  private turn(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    if (this.waiting.length >= this.maxWaiting) return Promise.reject(new CallLimitError(`too many ${this.what} waiting (${this.maxWaiting}); try again shortly`))
    return new Promise((resolve, reject) => {
      const go = (): void => {
        signal?.removeEventListener('abort', abort)
        resolve()
      }
      const abort = (): void => {
        const i = this.waiting.indexOf(go)
        if (i >= 0) this.waiting.splice(i, 1)
        reject(signal?.reason as Error)
      }
      this.waiting.push(go)
      signal?.addEventListener('abort', abort, { once: true })
    })
  }
}
