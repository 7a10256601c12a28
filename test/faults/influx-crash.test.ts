import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { FAULTS, startFaultDeployment, type CrashFigures, type FaultDeployment } from '../support/fault-deployment.js'

// Crash-safety of the InfluxDB path: every process on it killed with SIGKILL (no close message,
// no clean-up) and started again with the same command; a device's writes must go through again
// with no action by anyone. The figures (ms from the restart to the first stored write) are
// printed; `npm run bench:faults` repeats each fault and gives p50 and max.

let d: FaultDeployment
const figures: Record<string, CrashFigures> = {}
before(async () => { d = await startFaultDeployment() })
after(async () => {
  process.stdout.write(`# recovery ms after SIGKILL and restart: ${JSON.stringify(figures)}\n`)
  await d?.stop()
})

for (const fault of FAULTS) {
  test(`${fault} killed with SIGKILL and started again: the device writes again, and its tcp portals (one nested) echo again, by themselves`, async () => {
    const f = await d.crash(fault)
    figures[fault] = f
    assert.ok(f.influxMs >= 0 && f.tcpMs >= 0 && f.nestedMs >= 0)
  })
}
