import { connect } from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { fmt, percentile, report } from './report.js'
import { startTargets } from './start-targets.js'
import { nodeCrypto } from '../../src/crypto/node-crypto.js'
import { machineFacts } from './machine-facts.js'

const PINGS = 400
/** Idle gaps before a ping, ms: 0 is back to back; the others let both processes fall asleep. */
export const HOP_IDLE_GAPS_MS = [0, 1, 5] as const

/**
 * This machine's cost of one process-to-process hop: the p50 round trip, in µs, of 64 bytes over
 * loopback TCP to an echo server in another process, back to back and after each idle gap. A
 * relayed portal adds three such hops each way (inlet, relay, outlet), so the added latency of any
 * request through it cannot fall below about three of these round trips, before Portico does any
 * work. Printed next to the latency figures so that runs on different machines can be compared.
 */
export async function hopRoundTrips(signal?: AbortSignal): Promise<Record<string, number>> {
  const on = signal === undefined ? {} : { signal }
  const targets = await startTargets(signal)
  const s = connect({ host: '127.0.0.1', port: targets.echo })
  try {
    s.setNoDelay(true)
    await once(s, 'connect', on)
    const msg = Buffer.alloc(64, 1)
    return await p50AfterIdle(PINGS, async () => {
      s.write(msg)
      let got = 0
      while (got < msg.length) got += (await once(s, 'data', on) as [Buffer])[0].length
    }, signal)
  } finally {
    s.destroy()
    targets.stop()
  }
}

const SEALS = 400
const SEAL_WARM_UP = 20_000
const SEAL_BYTES = 300

/**
 * What the same small piece of work costs right after a process wakes: the p50, in µs, of one
 * AES-256-GCM seal of a 1-point write's size (what every hop of a channel does to each message),
 * back to back and after each idle gap. On a machine that keeps a sleeping process's caches warm
 * the figures are alike; on one that does not (a nested virtual machine, say), every step of a
 * request's path through Portico's processes runs several times slower than a warm loop suggests.
 */
export async function sealAfterIdle(signal?: AbortSignal): Promise<Record<string, number>> {
  const key = new Uint8Array(32).fill(7)
  const nonce = new Uint8Array(12)
  const plaintext = new Uint8Array(SEAL_BYTES).fill(1)
  const empty = new Uint8Array(0)
  for (let i = 0; i < SEAL_WARM_UP; i++) nodeCrypto.aesGcmSeal(key, nonce, empty, plaintext)
  return p50AfterIdle(SEALS, () => { nodeCrypto.aesGcmSeal(key, nonce, empty, plaintext) }, signal)
}

/**
 * The p50 time, in µs, of `count` runs of `work` after each idle gap, keyed 'back to back' and
 * 'after N ms idle'. Only the work is timed, never the idle gap before it.
 */
async function p50AfterIdle(count: number, work: () => Promise<void> | void, signal?: AbortSignal): Promise<Record<string, number>> {
  const on = signal === undefined ? {} : { signal }
  const out: Record<string, number> = {}
  for (const gap of HOP_IDLE_GAPS_MS) {
    const times: number[] = []
    for (let i = 0; i < count; i++) {
      if (gap > 0) await sleep(gap, undefined, on)
      const t = process.hrtime.bigint()
      // Synchronous work is timed without a turn of the microtask queue.
      const pending = work()
      if (pending !== undefined) await pending
      times.push(Number(process.hrtime.bigint() - t) / 1e3)
    }
    out[gap === 0 ? 'back to back' : `after ${gap} ms idle`] = fmt(percentile(times.sort((a, b) => a - b), 50), 1)
  }
  return out
}

/** Measures and prints the hop round trips and the work after idle as the `machine` report of a benchmark run. */
export async function reportHopRoundTrips(signal?: AbortSignal): Promise<void> {
  const trips = await hopRoundTrips(signal)
  const seals = await sealAfterIdle(signal)
  report('machine', Object.entries(trips).map(([when, us]) => ({
    when, 'process-to-process round trip, 64 B over loopback TCP, p50 µs': us, [`one AES-256-GCM seal of ${SEAL_BYTES} B, p50 µs`]: seals[when] ?? NaN
  })))
  report('machine-cpu', [machineFacts()])
}
