import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { NETWORK_FAULTS, startFaultDeployment, type FaultDeployment, type NetworkFaultFigures } from '../support/fault-deployment.js'
import { writesAgain } from '../support/node-processes.js'
import { IDLE_TIMEOUT_MS } from '../../src/transport/tcp-connection.js'
import { CHANNEL_SILENT_TICKS, CHANNEL_TICK_MS } from '../../src/channel/secure-channel.js'

// Network faults with no process dying, between real `portico` processes: the device's and the
// outlet's paths to their relay (the project node) each run through a TCP fault proxy, which goes
// silent (a half-open path: no FIN, no RST, bytes wait as behind a dead route), resets, or slows
// down. The node on the broken path must say so on /readyz within the stated bound (the hop's
// heartbeats cut a silent connection after IDLE_TIMEOUT_MS, a channel's keep-alives close it after
// CHANNEL_SILENT_TICKS ticks), and both portals must work again by themselves once the path is well.

const SILENT_BOUND_MS = Math.max(IDLE_TIMEOUT_MS, CHANNEL_SILENT_TICKS * CHANNEL_TICK_MS)
let d: FaultDeployment
const figures: Record<string, NetworkFaultFigures> = {}
before(async () => { d = await startFaultDeployment('portico-netfaults-') })
after(async () => {
  process.stdout.write(`# network faults (ms): ${JSON.stringify(figures)}\n`)
  await d?.stop()
})

for (const [path, fault] of NETWORK_FAULTS) {
  test(`${path} ${fault === 'blackhole' ? 'goes silent' : 'is reset'}: the node says so, and both portals work again by themselves once it is well`, async (t) => {
    const f = await d.breakPath(path, fault)
    figures[`${fault} ${path}`] = f
    t.diagnostic(JSON.stringify(f))
    if (fault === 'blackhole') {
      // Not a timing threshold: the bound is the design's, checked with a wide margin for a loaded machine.
      assert.ok((f.detectedMs ?? Infinity) < SILENT_BOUND_MS * 3, `noticed after ${f.detectedMs ?? '?'} ms`)
      const why = (f.reasons ?? []).join('; ')
      if (path === 'device path') assert.match(why, /influxdb inlet .*(relay|outlet|channel)/)
      else assert.match(why, /relay influxdb not registered/)
    }
  })
}

test('while the device\'s path is silent, a request gets a 503 with Retry-After naming the hop, not a hang', async () => {
  d.setPath('device path', { kind: 'blackhole' })
  try {
    for (const t0 = Date.now(); (await d.readiness('device')).status === 200;) {
      if (Date.now() - t0 > 60_000) throw new Error('the device did not notice its silent path')
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const r = await fetch(`http://127.0.0.1:${d.inletPort}/write?db=device`, { method: 'POST', body: 'm v=1', signal: AbortSignal.timeout(30_000) })
    assert.equal(r.status, 503)
    assert.ok(Number(r.headers.get('retry-after')) >= 1)
    assert.match(await r.text(), /relay|outlet/)
  } finally {
    d.setPath('device path', { kind: 'pass' })
    await writesAgain(d.inletPort, 'device', Date.now())
  }
})

test('a slow path (300 ms each way) still carries writes', async () => {
  d.setPath('device path', { kind: 'delay', ms: 300 })
  d.setPath('outlet path', { kind: 'delay', ms: 300 })
  try {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`http://127.0.0.1:${d.inletPort}/write?db=device`, { method: 'POST', body: `slow v=${i}`, signal: AbortSignal.timeout(30_000) })
      assert.equal(r.status, 204)
    }
  } finally {
    d.setPath('device path', { kind: 'pass' })
    d.setPath('outlet path', { kind: 'pass' })
  }
})
