import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { once } from 'node:events'
import { startProject, type TestProject } from '../support/project.js'
import { echoServer, roundTrip, type Target } from '../support/tcp-servers.js'
import { waitFor } from '../helpers.js'
import type { NodeRuntime } from '../../src/node/node-runtime.js'

// While the outlet of an inlet cannot be reached, the inlet says so: /readyz names the hop that
// failed, an HTTP request gets a 503 with Retry-After that names it too, a TCP client is closed.
// When the outlet comes, the inlet opens its route by itself (no client has to ask first).

let project: TestProject
let target: Target
let device: NodeRuntime
let tcpInlet = ''
let httpInlet = ''

before(async () => {
  project = await startProject()
  target = await echoServer()
  device = await project.member('device', { 'db-inlet': 'true', 'influxdb-inlet': 'true' }, {
    'tcp-inlet': [{ from: '127.0.0.1:0', via: 'db', outlet: 'outlet' }],
    'influxdb-inlet': [{ from: '127.0.0.1:0', via: 'influxdb', outlet: 'influxdb-outlet', 'leased-token-strategy': 'shared' }]
  })
  tcpInlet = [...device.portals.inlets.keys()].find((k) => !k.startsWith('internal:')) ?? ''
  httpInlet = [...device.portals.influxdbInlets.keys()][0] ?? ''
})
after(async () => {
  await project.stop()
  await target.close()
})

const reasons = (): string => device.notReady().join('; ')

test('no outlet registered at the relay: readiness names it for each inlet', async () => {
  await waitFor(() => /tcp inlet .*the outlet is not connected to relay 'db'/.test(reasons()), 10_000, 'the tcp inlet\'s reason')
  await waitFor(() => /influxdb inlet .*the outlet is not connected to relay 'influxdb'/.test(reasons()), 10_000, 'the influxdb inlet\'s reason')
})

test('an HTTP request meanwhile gets a fast 503 with Retry-After naming what is unreachable', async () => {
  const r = await fetch(`http://${httpInlet}/write?db=x`, { method: 'POST', body: 'm v=1', signal: AbortSignal.timeout(20_000) })
  assert.equal(r.status, 503)
  assert.ok(Number(r.headers.get('retry-after')) >= 1)
  assert.match(await r.text(), /the outlet is not connected to relay 'influxdb'/)
})

test('a TCP client meanwhile is closed, not left waiting', async () => {
  const [host, port] = tcpInlet.split(':')
  const s = connect({ host, port: Number(port) })
  s.on('error', () => undefined)
  await once(s, 'close')
})

test('once the outlet registers, the inlet opens its route by itself and is ready; when it goes, readiness says so again', async () => {
  const outlet = await project.member('outlet', { relay: 'db' }, {
    'tcp-listener-address': undefined, relay: ['db'],
    'tcp-outlet': [{ to: target.address, from: 'outlet', tls: false }]
  })
  await waitFor(() => !/tcp inlet/.test(reasons()), 15_000, 'the tcp inlet ready')
  assert.ok(device.portals.show().tcpInlets !== undefined)
  assert.equal((await roundTrip(tcpInlet, Buffer.from('hello'))).toString(), 'hello')
  await outlet.stop()
  await waitFor(() => /tcp inlet .*(not connected to relay 'db'|closed)/.test(reasons()), 15_000, 'the tcp inlet not ready again')
})
