/**
 * V8 flags every node process runs with.
 *
 * A node's live heap is small (about 15 MiB), and V8 sizes the old generation's limit from it, so
 * the buffers a busy portal keeps in flight (socket queues, a window per connection) were enough
 * to start a full mark-compact every 50 to 100 ms: a fifth to a third of each node's CPU under
 * load. Starting the old generation at 64 MiB leaves those cycles to the young generation, where
 * short-lived buffers are cheap to collect; bench:influx and bench:portal show the difference.
 * It is a limit, not a reservation: an idle node's resident memory does not grow.
 *
 * A portal allocates a buffer outside the heap for every socket read and every AEAD output, tens
 * of thousands a second, and drops each soon after. By default V8 frees them on a background
 * thread after each young-generation collection; that thread then contends with the main one for
 * the allocator's lock and has to be woken for every collection, which on a busy two-core host
 * cost about a tenth of a portal's CPU (bench:portal, (c) with and without the flag in the same
 * runs: 1.55 to 1.70 CPU s per GiB against 1.74 to 1.83). Freeing them inline, in the collection
 * that found them dead, is cheaper. Concurrent marking of the heap itself is left on.
 */
export const NODE_V8_FLAGS: readonly string[] = ['--initial-heap-size=64', '--no-concurrent-array-buffer-sweeping']

/** Flags for a node process: ours, then any from PORTICO_NODE_FLAGS (profiling, say). */
export function nodeProcessFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...NODE_V8_FLAGS, ...(env.PORTICO_NODE_FLAGS?.split(' ').filter((f) => f !== '') ?? [])]
}
