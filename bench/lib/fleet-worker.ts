// One process of bench:fleet's devices (a few of them carry the whole fleet on two CPUs): it
// starts the devices it is told to, each writing a batch every WRITE_EVERY_MS at its own phase,
// and answers the driver's questions over IPC (see FleetRequest).
import { setMaxListeners } from 'node:events'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { decodeTicket } from '../../src/authority/ticket.js'
import { projectFromFile } from '../../src/authority/project.js'
import { nodeCrypto } from '../../src/crypto/node-crypto.js'
import { pino } from 'pino'
import { createLogger, silentLogger } from '../../src/log/logger.js'
import { ResourcePolicies } from '../../src/node/resource-policies.js'
import { openStore } from '../../src/store/open-store.js'
import { FleetDevice, type FleetContext } from './fleet-device.js'

export const WRITE_EVERY_MS = 10_000
/** Devices a process starts at once: a fleet comes online in waves, not all in one instant. */
const WAVE = 10
/** How long a new device may take to obtain its first lease (InfluxDB 1.x creates users one at a time). */
const LEASE_DEADLINE_MS = 600_000
/** Leases a process asks another outlet for at once. */
const LEASE_CONCURRENCY = 8

export type FleetRequest =
  | { op: 'init'; project: unknown; ticket: string; relay: string; outlet: string; log: string }
  | { op: 'grow'; from: number; count: number; deadlineMs: number }
  | { op: 'collect' }
  | { op: 'lease-from'; outlet: string; from: number; count: number; deadlineMs: number }
  | { op: 'stop' }

/** Writes since the last collect, and the longest this process's event loop was held up (ms; Node's histogram counts the sampling tick too, taken off here): a device that cannot run cannot answer its channels' keep-alives. */
export interface Samples { latencies: number[]; failed: number; reasons: Record<string, number>; loopDelayMaxMs: number }
export type FleetAnswer =
  | { op: 'ready' }
  | { op: 'grown'; started: number; failures: Record<string, number>; leaseRetries: number }
  | { op: 'samples'; samples: Samples }
  | { op: 'leased'; issued: number; failures: Record<string, number> }
  | { op: 'stopped' }
  | { op: 'error'; message: string }

const life = new AbortController()
// Every device of the process ends with it: one listener each on this signal is expected.
setMaxListeners(0, life.signal)
const devices = new Map<number, FleetDevice>()
const timers: NodeJS.Timeout[] = []
let ctx: FleetContext | undefined
let samples: Omit<Samples, 'loopDelayMaxMs'> = { latencies: [], failed: 0, reasons: {} }
const LOOP_SAMPLE_MS = 20
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS })
loopDelay.enable()

const count = (into: Record<string, number>, err: unknown): void => {
  const reason = (err as Error).message.slice(0, 120)
  into[reason] = (into[reason] ?? 0) + 1
}

function schedule(device: FleetDevice): void {
  const write = (): void => {
    device.write().then((ms) => samples.latencies.push(ms), (err: unknown) => {
      samples.failed++
      count(samples.reasons, err)
    })
  }
  // Each device at its own phase: the fleet's writes spread evenly over the period.
  const first = setTimeout(() => {
    write()
    timers.push(setInterval(write, WRITE_EVERY_MS))
  }, Math.random() * WRITE_EVERY_MS)
  timers.push(first)
}

/** Runs `work` over the indices with `concurrency` at a time, none begun once `until` aborts; failures are counted by reason. */
async function each(from: number, n: number, concurrency: number, until: AbortSignal, work: (i: number) => Promise<void>): Promise<{ done: number; failures: Record<string, number> }> {
  const failures: Record<string, number> = {}
  let next = from
  let done = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < from + n) {
      if (until.aborted) {
        failures['not begun before the deadline'] = (failures['not begun before the deadline'] ?? 0) + from + n - next
        next = from + n
        break
      }
      const i = next++
      try {
        await work(i)
        done++
      } catch (err) {
        count(failures, err)
      }
    }
  }))
  return { done, failures }
}

async function handle(m: FleetRequest): Promise<FleetAnswer> {
  switch (m.op) {
    case 'init': {
      const store = await openStore('sqlite::memory:')
      ctx = {
        project: projectFromFile(nodeCrypto, m.project), code: decodeTicket(m.ticket).code, relay: m.relay, outlet: m.outlet,
        policies: new ResourcePolicies(undefined, silentLogger, () => false), leases: store.leases, signal: life.signal,
        log: createLogger({ level: 'warn', destination: pino.destination({ dest: m.log, sync: false }) })
      }
      return { op: 'ready' }
    }
    case 'grow': {
      const c = ctx
      if (c === undefined) throw new Error('not initialised')
      let leaseRetries = 0
      const deadline = AbortSignal.timeout(m.deadlineMs)
      setMaxListeners(0, deadline)
      const { done, failures } = await each(m.from, m.count, WAVE, deadline, async (i) => {
        const device = await FleetDevice.start(c, i)
        devices.set(i, device)
        leaseRetries += await device.leased(AbortSignal.any([life.signal, deadline, AbortSignal.timeout(LEASE_DEADLINE_MS)]))
        schedule(device)
      })
      return { op: 'grown', started: done, failures, leaseRetries }
    }
    case 'collect': {
      const s = { ...samples, loopDelayMaxMs: Math.max(0, loopDelay.max / 1e6 - LOOP_SAMPLE_MS) }
      samples = { latencies: [], failed: 0, reasons: {} }
      loopDelay.reset()
      return { op: 'samples', samples: s }
    }
    case 'lease-from': {
      const deadline = AbortSignal.any([life.signal, AbortSignal.timeout(m.deadlineMs)])
      setMaxListeners(0, deadline)
      const { done, failures } = await each(m.from, m.count, LEASE_CONCURRENCY, deadline, async (i) => {
        const device = devices.get(i)
        if (device === undefined) throw new Error('no such device')
        await device.leaseFrom(m.outlet, AbortSignal.any([deadline, AbortSignal.timeout(60_000)]))
      })
      return { op: 'leased', issued: done, failures }
    }
    case 'stop': {
      for (const t of timers) clearTimeout(t)
      life.abort()
      await Promise.all([...devices.values()].map((d) => d.stop().catch(() => undefined)))
      return { op: 'stopped' }
    }
  }
}

process.on('message', (m: FleetRequest) => {
  handle(m).then((answer) => process.send?.(answer), (err: unknown) => process.send?.({ op: 'error', message: (err as Error).message }))
})
process.on('disconnect', () => process.exit(0))
