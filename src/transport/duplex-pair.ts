import { Duplex } from 'node:stream'

/** Bytes one end holds unread before the other end's writes wait. */
export const DUPLEX_PAIR_BUFFER_BYTES = 64 * 1024

/**
 * One end of an in-memory byte stream. A write is done once the other end has taken it into its
 * readable buffer; when that buffer is full the write waits until the reader asks for more, so a
 * stalled reader pushes back on the writer just as TCP would.
 */
class PairEnd extends Duplex {
  other: PairEnd | undefined
  /** Our write that is waiting for the other end's reader. */
  private waiting: ((error?: Error) => void) | undefined

  constructor() {
    super({ readableHighWaterMark: DUPLEX_PAIR_BUFFER_BYTES, writableHighWaterMark: DUPLEX_PAIR_BUFFER_BYTES })
  }

  override _read(): void {
    const other = this.other
    const resume = other?.waiting
    if (other !== undefined) other.waiting = undefined
    resume?.()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const other = this.other
    if (other === undefined || other.destroyed) {
      callback(new Error('the other end of the stream is closed'))
      return
    }
    if (other.push(chunk)) callback()
    else this.waiting = (error) => callback(error)
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.other?.push(null)
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.()
    const other = this.other
    if (other !== undefined && !other.destroyed) {
      // As TCP: after our end was sent, the other end still reads what we wrote, then that end;
      // before it, a destroy is a reset. Either way its writes to us fail from now on.
      const theirs = other.waiting
      other.waiting = undefined
      theirs?.(new Error('the other end of the stream is closed'))
      if (!this.writableFinished) other.destroy()
    }
    callback(error)
  }
}

/** Two connected in-memory streams: what one writes, the other reads (Node 20 has no duplexPair). */
export function duplexPair(): [Duplex, Duplex] {
  const a = new PairEnd()
  const b = new PairEnd()
  a.other = b
  b.other = a
  return [a, b]
}
