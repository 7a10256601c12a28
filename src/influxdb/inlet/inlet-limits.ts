import type { Logger } from 'pino'
import type { LeaseKeeper } from './lease-keeper.js'
import type { UpstreamPool } from '../http/upstream-pool.js'

/** A body up to this size is kept while it streams, so the request can be sent again once after a 401. */
export const MAX_RETRY_BODY_BYTES = 1024 * 1024
/** The largest request head taken from a client: a larger one gets 431. */
export const MAX_HEADER_BYTES = 64 * 1024
/** Connections through the portal to the database at once, shared by all clients; more requests wait. */
export const UPSTREAM_SOCKETS = 256
/** Client connections at once; more are refused by the listener. */
export const MAX_CLIENT_CONNECTIONS = 10_000
/** Client connections at once from one address; more are closed as they come. */
export const MAX_CONNECTIONS_PER_ADDRESS = 1000
/**
 * Upstream connections one client address holds at once (a quarter of the pool): a client that
 * keeps requests open cannot take them all, and its further requests wait their turn.
 */
export const UPSTREAM_SOCKETS_PER_ADDRESS = 64
/** A request body with no byte for this long (while the inlet is reading) gets 408 and its connection closed. */
export const BODY_IDLE_TIMEOUT_MS = 10_000
/** The Retry-After of a 503 answered while the outlet cannot be reached (the inlet tries it again within seconds). */
export const UNAVAILABLE_RETRY_AFTER_S = 2
/** A request body not complete this long after its head gets 408 and its connection closed, however it trickles. */
export const REQUEST_BODY_TIME_LIMIT_MS = 300_000
/**
 * Body bytes a client connection may have read but not yet sent on (while its lease is looked up,
 * or behind an earlier pipelined request) before its socket stops being read. A batch that comes
 * in one socket read with its head (Node reads at most 64 KiB at a time) never stops it.
 */
export const CLIENT_BUFFER_BYTES = 64 * 1024
/** An idle client connection is closed after this long; answers say so in `Keep-Alive: timeout=`. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000
/** A request head not complete this long after its first byte gets 408 and its connection closed. */
export const HEADERS_TIMEOUT_MS = 60_000
/** An idle connection to the database is closed after this long. */
export const UPSTREAM_IDLE_MS = 30_000
/** How often the timeouts above are checked, for all connections at once rather than with a timer each. */
export const TIMEOUT_CHECK_MS = 1_000

/** What the inlet counts, for its summary and /metrics. */
export interface InletCounters {
  requests: number
  retried: number
  badRequests: number
  upstreamErrors: number
  /** Requests answered 503 because no lease could be had. */
  withoutLease: number
  /** Requests the inlet refused itself: a path, database or statement outside the lease (403), or malformed (400). */
  refused: number
}

/** What each client connection of an inlet shares. */
export interface InletContext {
  log: Logger
  leases: LeaseKeeper
  pool: UpstreamPool
  counters: InletCounters
  outletDown?: () => Error | undefined
}
