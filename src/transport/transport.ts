import type { TransportRouter } from '../routing/router.js'

/**
 * A transport: it carries messages whose next hop is one of its peers (`type` is the address type
 * it owns), connecting on first use, and delivers what its peers send into the router with the
 * connection pushed onto the return route. TCP is the one nodes use; the in-memory one runs the
 * same framing without sockets. Both pass the compliance suite in test/compliance/transport.ts.
 */
export interface Transport extends TransportRouter {
  /** Drops the connection to `peer` as a network would; the next message makes a new one. */
  disconnect(peer: string): void
  /** Closes every connection and listener. */
  close(): Promise<void>
}
