// bench:faults — each fault of the InfluxDB path (SIGKILL of the outlet node, the project node,
// the device node, InfluxDB itself, then a restart with the same command), and each network fault
// of a node's path to its relay (silent, reset), repeated N times (FAULT_ROUNDS, default 5):
// milliseconds from the restart (or the path being well again) to the first write stored, and to
// the first echo through the tcp portal (and through one whose channel runs inside another), p50 and max per fault; for a silent path, how long the
// node took to say so on /readyz. Goal: back within 5 s; a silent path noticed within 15 s.
import { FAULTS, NETWORK_FAULTS, startFaultDeployment, type CrashFigures, type NetworkFaultFigures } from '../test/support/fault-deployment.js'
import { fmt, percentile, report } from './lib/report.js'

const ROUNDS = Number(process.env.FAULT_ROUNDS ?? 5)
const d = await startFaultDeployment('portico-bench-faults-')
const rows: Record<string, string | number>[] = []
try {
  for (const fault of FAULTS) {
    const times: CrashFigures[] = []
    for (let i = 0; i < ROUNDS; i++) times.push(await d.crash(fault))
    rows.push(row(`SIGKILL ${fault}`, times.map((t) => t.influxMs), times.map((t) => t.tcpMs), times.map((t) => t.nestedMs)))
  }
  for (const [path, fault] of NETWORK_FAULTS) {
    const figures: NetworkFaultFigures[] = []
    for (let i = 0; i < ROUNDS; i++) figures.push(await d.breakPath(path, fault))
    const detected = figures.map((f) => f.detectedMs).filter((x) => x !== undefined)
    rows.push({
      ...row(`${fault} ${path}`, figures.map((f) => f.recoveredMs), figures.map((f) => f.tcpRecoveredMs), figures.map((f) => f.nestedRecoveredMs)),
      'detected max ms': detected.length === 0 ? '-' : fmt(Math.max(...detected), 0)
    })
  }
} finally {
  await d.stop()
}
report('faults', rows)

function row(fault: string, influx: number[], tcp: number[], nested: number[]): Record<string, string | number> {
  const [a, b, c] = [influx, tcp, nested].map((xs) => [...xs].sort((x, y) => x - y))
  return {
    fault, rounds: ROUNDS, 'influx p50 ms': fmt(percentile(a ?? [], 50), 0), 'influx max ms': fmt(a?.at(-1) ?? NaN, 0),
    'tcp p50 ms': fmt(percentile(b ?? [], 50), 0), 'tcp max ms': fmt(b?.at(-1) ?? NaN, 0),
    'nested p50 ms': fmt(percentile(c ?? [], 50), 0), 'nested max ms': fmt(c?.at(-1) ?? NaN, 0), 'goal max ms': 5000, 'detected max ms': '-'
  }
}
