import type { Socket } from 'node:net'
import type { InletContext } from './inlet-limits.js'

/**
 * What a request of the InfluxDB inlet may see and do of the client connection it came on: the
 * connection implements it, the request knows only this (so neither imports the other).
 */
export interface RequestOwner {
  readonly socket: Socket
  readonly ctx: InletContext
  /** The key of the lease this connection's requests use (the inlet's, or the client's). */
  readonly leaseKey: string
  /** The client's address: its share of the upstream pool is counted by it. */
  readonly address: string
  /** Bytes held for requests not yet sent upstream; over the client's allowance, reading stops. */
  buffered: number
  /** An upstream connection is full: the client is not read until it drains. */
  upstreamFull: boolean
  /** No request after the current ones: the connection ends once they are answered. */
  closing: boolean
  /** The client went away. */
  readonly gone: boolean
  write(text: string): void
  closeAfterWrites(): void
  /** Pauses or resumes reading the client from `buffered` and `upstreamFull`. */
  updateReading(): void
  /** `request` (the one at the head of the queue) is answered and whole. */
  done(request: object): void
}
