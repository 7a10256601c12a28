/** Points in one write of the InfluxDB benchmarks. */
export const BATCH_POINTS = 5000

/**
 * Batch `n` of line protocol: BATCH_POINTS points over 50 series, each with its own timestamp.
 * Timestamps are written as exact nanosecond strings: a Number near 1.7e18 is only exact to 256 ns,
 * which made most of a batch's points overwrite each other.
 */
export function lineProtocolBatch(n: number): string {
  return Array.from({ length: BATCH_POINTS }, (_, i) => `cpu,host=h${i % 50},batch=${n} usage=${(i % 100) / 3},idle=${i} ${1_700_000_000_000 + n * BATCH_POINTS + i}000000`).join('\n')
}
