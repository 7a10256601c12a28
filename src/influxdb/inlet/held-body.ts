import { MAX_RETRY_BODY_BYTES } from './inlet-limits.js'

/**
 * What the inlet holds of one request's body: the pieces read before an upstream connection was
 * ready, sent as soon as one is, and a copy of the whole body while it stays within
 * MAX_RETRY_BODY_BYTES, so that the request can go once more (after a 401, or on a new connection
 * when a kept-alive one was lost). A larger body is streamed and never held whole.
 */
export class HeldBody {
  private pieces: Buffer[] = []
  private waitingBytes = 0
  private copy: Buffer[] | undefined = []
  private copyBytes = 0

  /** Keeps a piece in the copy, or gives the copy up once the body outgrows it. */
  keep(piece: Buffer): void {
    if (this.copy === undefined) return
    this.copyBytes += piece.length
    if (this.copyBytes > MAX_RETRY_BODY_BYTES) this.copy = undefined
    else this.copy.push(piece)
  }

  /** Holds a piece until an upstream connection is ready. */
  hold(piece: Buffer): void {
    this.pieces.push(piece)
    this.waitingBytes += piece.length
  }

  /** The pieces held so far, still held. */
  get waiting(): readonly Buffer[] {
    return this.pieces
  }

  /** The held pieces, no longer held, and how many bytes they were. */
  release(): { pieces: Buffer[]; bytes: number } {
    const released = { pieces: this.pieces, bytes: this.waitingBytes }
    this.pieces = []
    this.waitingBytes = 0
    return released
  }

  /** The whole body so far, if it was small enough to keep. */
  get whole(): readonly Buffer[] | undefined {
    return this.copy
  }

  /** The request will not be sent again. */
  forget(): void {
    this.copy = undefined
  }
}
