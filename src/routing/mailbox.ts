import type { Logger } from 'pino'
import type { LocalMessage } from './message.js'
import type { Worker } from './worker.js'

export const DEFAULT_MAILBOX_CAPACITY = 1024

/**
 * A bounded FIFO in front of one worker. Messages are handled one at a time, in order; when the
 * worker falls behind by `capacity` messages, new ones are refused rather than buffered.
 * Synchronous handlers run straight through; an async one pauses the queue until it settles.
 */
export class Mailbox {
  private queue: (LocalMessage | undefined)[] = []
  private head = 0
  private running = false

  constructor(private readonly worker: Worker, private readonly capacity: number, private readonly log: Logger) {}

  get length(): number {
    return this.queue.length - this.head
  }

  /** Nothing queued and nothing running: a message handled now would keep its place in order. */
  get idle(): boolean {
    return !this.running && this.queue.length === this.head
  }

  /**
   * Runs `handle` now if the mailbox is idle (else returns false and runs nothing), as if it were
   * a queued message: messages that arrive for this worker meanwhile wait their turn, and a
   * failure is logged the same way.
   */
  runIfIdle(handle: () => void): boolean {
    if (!this.idle) return false
    this.running = true
    try {
      handle()
    } catch (err) {
      this.failed(err)
    }
    if (this.queue.length > this.head) this.pump()
    else this.running = false
    return true
  }

  push(msg: LocalMessage): boolean {
    if (this.length >= this.capacity) return false
    this.queue.push(msg)
    if (!this.running) {
      this.running = true
      this.pump()
    }
    return true
  }

  private pump(): void {
    while (this.head < this.queue.length) {
      const msg = this.queue[this.head]
      this.queue[this.head++] = undefined
      if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head)
        this.head = 0
      }
      if (msg === undefined) continue
      const pending = this.run(msg)
      if (pending !== undefined) {
        void pending.then(() => this.pump())
        return
      }
    }
    this.queue = []
    this.head = 0
    this.running = false
  }

  private run(msg: LocalMessage): Promise<void> | undefined {
    try {
      const r = this.worker.handleMessage(msg)
      if (r instanceof Promise) return r.catch((err: unknown) => this.failed(err))
    } catch (err) {
      this.failed(err)
    }
    return undefined
  }

  private failed(err: unknown): void {
    this.log.warn({ err: err instanceof Error ? { name: err.name, message: err.message } : String(err) }, 'worker failed to handle a message')
  }
}
