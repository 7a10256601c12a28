// bench:faults — each fault of the InfluxDB path (SIGKILL of the outlet node, the project node,
// the device node, InfluxDB itself, then a restart with the same command) repeated N times
// (FAULT_ROUNDS, default 5): milliseconds from the restart to the first write stored again, p50
// and max per fault. Goal: at most 5 s.
import { FAULTS, startFaultDeployment } from '../test/support/fault-deployment.js'
import { fmt, percentile, report } from './lib/report.js'

const ROUNDS = Number(process.env.FAULT_ROUNDS ?? 5)
const d = await startFaultDeployment('portico-bench-faults-')
const rows: Record<string, string | number>[] = []
try {
  for (const fault of FAULTS) {
    const times: number[] = []
    for (let i = 0; i < ROUNDS; i++) times.push(await d.crash(fault))
    const sorted = [...times].sort((a, b) => a - b)
    rows.push({ fault, rounds: ROUNDS, 'recovery p50 ms': fmt(percentile(sorted, 50), 0), 'recovery max ms': fmt(sorted.at(-1) ?? NaN, 0), 'goal max ms': 5000, all: times.join(' ') })
  }
} finally {
  await d.stop()
}
report('faults', rows)
