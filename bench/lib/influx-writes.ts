import { randomBytes } from 'node:crypto'
import type { InfluxServer } from '../../test/support/influxdb.js'
import { v1Jwt } from '../../src/influxdb/backends/v1-backend.js'

/**
 * Creates the `bench` database and a user that may only write it, and returns the headers a direct
 * writer sends: the same kind of credential the lease manager injects (a JWT), so InfluxDB does
 * the same authentication and authorization work on both paths and the ratio is Portico's alone.
 * Not a `portico_lease_` user: the outlet would rightly revoke that as an orphan.
 */
export async function benchWriter(influx: InfluxServer, sharedSecret: string): Promise<Record<string, string>> {
  const admin = { username: influx.admin.username, password: influx.admin.password, method: 'POST' as const }
  await influx.query('CREATE DATABASE bench', admin)
  await influx.query(`CREATE USER bench_writer WITH PASSWORD '${randomBytes(18).toString('base64url')}'`, admin)
  await influx.query('GRANT WRITE ON bench TO bench_writer', admin)
  return { authorization: `Bearer ${v1Jwt(sharedSecret, 'bench_writer', Date.now() + 3_600_000)}` }
}

/** The outlet node's influxdb-outlet: v1 with JWT leases that may write `bench`, for `influxdb-inlet` identities. */
export function benchInfluxdbOutlet(influx: InfluxServer, sharedSecret: string): Record<string, unknown> {
  return {
    to: influx.address, api: 'v1', allow: 'influxdb-inlet', 'admin-username': influx.admin.username, 'admin-password': influx.admin.password,
    'shared-secret': sharedSecret, 'leased-token-expires-in': '1h', 'leased-token-permissions': [{ action: 'write', resource: { type: 'buckets', name: 'bench' } }]
  }
}

/** Consecutive 1-point writes one path makes before the next takes its turn. */
export const LATENCY_BLOCK = 100
const LATENCY_WARM_UP = 50
let nextPoint = 0

/**
 * `pings` 1-point writes per path, sorted round-trip times in ms. The paths take turns in blocks,
 * so a change in the shared machine's load during the run touches all alike (one path after the
 * other did not), while each block runs with only its own path's processes busy, as that path
 * would in use (alternating single writes made the direct ones wait for CPUs the portal's
 * processes had just left). `around` runs each measured block, for callers that measure it too.
 */
export async function latencies(
  paths: readonly (readonly [string, Record<string, string>])[], pings: number,
  around: (path: number, block: () => Promise<number[]>) => Promise<number[]> = async (_, block) => block()
): Promise<number[][]> {
  const times: number[][] = paths.map(() => [])
  for (const [p, [url, headers]] of paths.entries()) await writes(url, headers, LATENCY_WARM_UP, p)
  for (let done = 0; done < pings; done += LATENCY_BLOCK) {
    for (const [p, [url, headers]] of paths.entries()) times[p]?.push(...await around(p, () => writes(url, headers, Math.min(LATENCY_BLOCK, pings - done), p)))
  }
  return times.map((t) => t.sort((a, b) => a - b))
}

async function writes(url: string, headers: Record<string, string>, n: number, path: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint()
    const r = await fetch(url, { method: 'POST', body: `lat,path=${path} v=${i} ${1_800_000_000_000 + nextPoint++}000000`, headers })
    await r.arrayBuffer()
    if (r.status !== 204) throw new Error(`write failed: ${r.status}`)
    times.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return times
}
