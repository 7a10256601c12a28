import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { once } from 'node:events'
import { startProject, type TestProject } from '../support/project.js'
import { echoServer, roundTrip, sha256, type Target } from '../support/tcp-servers.js'
import { waitFor } from '../helpers.js'
import type { NodeRuntime } from '../../src/node/node-runtime.js'
import { startManyInlets } from '../support/many-inlets.js'

let project: TestProject
let target: Target
let outletNode: NodeRuntime
let inletNode: NodeRuntime
let inletAddress = ''

before(async () => {
  project = await startProject()
  target = await echoServer()
  outletNode = await project.member('outlet', { 'db-outlet': 'true', relay: 'db' }, {
    'tcp-listener-address': undefined, relay: ['db'],
    'tcp-outlet': [{ to: target.address, from: 'outlet', allow: '(= subject.db-inlet "true")', tls: false }]
  })
  await waitFor(() => outletNode.portals.relays.get('db')?.registered === true, 5000, 'relay registered')
  inletNode = await project.member('inlet', { 'db-inlet': 'true' }, {
    'tcp-inlet': [{ from: '127.0.0.1:0', via: 'db', outlet: 'outlet', allow: '(= subject.db-outlet "true")' }]
  })
  inletAddress = [...inletNode.portals.inlets.keys()][0] ?? ''
})
after(async () => {
  await project.stop()
  await target.close()
})

test('bytes cross inlet, relay and outlet intact, both ways, with half-close', async () => {
  const data = randomBytes(10 * 1024 * 1024 + 17)
  const back = await roundTrip(inletAddress, data)
  assert.equal(back.length, data.length)
  assert.equal(sha256(back), sha256(data))
})

test('many connections at once share one channel', async () => {
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => roundTrip(inletAddress, Buffer.from(`connection ${i}`))))
  results.forEach((r, i) => assert.equal(r.toString(), `connection ${i}`))
  const relay = project.authority.relayService?.list().find((r) => r.name === 'db')
  assert.ok((relay?.forwarded ?? 0) > 0)
})

test('an inlet identity without the attribute is refused, with a clear error on the refused side', async () => {
  const other = await project.member('intruder', { 'db-inlet': 'false' }, {
    'tcp-inlet': [{ from: '127.0.0.1:0', via: 'db', outlet: 'outlet' }]
  })
  const address = [...other.portals.inlets.keys()][0] ?? ''
  const socket = connect({ host: '127.0.0.1', port: Number(address.split(':')[1]) })
  socket.on('error', () => undefined)
  await once(socket, 'close')
  const inlet = [...other.portals.inlets.values()][0]?.inlet
  assert.match(String(inlet?.summary().lastError), /refused by the outlet: policy \(= subject.db-inlet "true"\) denies/)
})

test('the inlet refuses an outlet whose identity fails its policy', async () => {
  const picky = await project.member('picky', { 'db-inlet': 'true' }, {
    'tcp-inlet': [{ from: '127.0.0.1:0', via: 'db', outlet: 'outlet', allow: '(= subject.db-outlet "never")' }]
  })
  const address = [...picky.portals.inlets.keys()][0] ?? ''
  const socket = connect({ host: '127.0.0.1', port: Number(address.split(':')[1]) })
  socket.on('error', () => undefined)
  await once(socket, 'close')
  const inlet = [...picky.portals.inlets.values()][0]?.inlet
  assert.match(String(inlet?.summary().lastError), /policy .* denies/)
})

test('a non-member cannot register a relay it was not given', async () => {
  const sneaky = await project.member('sneaky', { relay: 'other' }, { relay: ['db'] })
  await waitFor(() => sneaky.portals.relays.get('db')?.summary().lastError !== null, 5000, 'registration refused')
  assert.match(String(sneaky.portals.relays.get('db')?.summary().lastError), /may not register relay 'db'/)
  // The real outlet's registration is untouched.
  assert.equal((await roundTrip(inletAddress, Buffer.from('still mine'))).toString(), 'still mine')
})

test('scale: 1,000 concurrent TCP connections through one inlet, relay and outlet', async () => {
  const sockets = await Promise.all(Array.from({ length: 1000 }, async () => {
    const s = connect({ host: '127.0.0.1', port: Number(inletAddress.split(':')[1]) })
    await once(s, 'connect')
    return s
  }))
  // All open at once: each echoes its own bytes while the others stay open.
  const echoes = await Promise.all(sockets.map(async (s, i) => {
    const reply = once(s, 'data')
    s.write(`hello ${i}`)
    const [data] = await reply as [Buffer]
    return data.toString()
  }))
  echoes.forEach((e, i) => assert.equal(e, `hello ${i}`))
  await waitFor(() => (outletNode.portals.outlets.get('outlet')?.size ?? 0) >= 1000, 5000, '1000 outlet connections')
  for (const s of sockets) s.destroy()
  await waitFor(() => outletNode.portals.outlets.get('outlet')?.size === 0, 10_000, 'outlet connections closed')
})

test('scale: 1,000 distinct enrolled inlet identities through one relay to one outlet', async () => {
  const { ticket } = await project.admin.createTicket({ attributes: { 'db-inlet': 'true' }, usageCount: 1000 })
  const inlets = await startManyInlets(project, ticket, 1000, 'db', 'outlet')
  try {
    // Channels are opened in waves, as a fleet comes online; then all 1,000 are used at once.
    for (let i = 0; i < inlets.length; i += 50) {
      await Promise.all(inlets.slice(i, i + 50).map((inlet) => roundTrip(inlet.address, Buffer.from('hello'))))
    }
    const replies = await Promise.all(inlets.map((i, n) => roundTrip(i.address, Buffer.from(`identity ${n}`))))
    replies.forEach((r, n) => assert.equal(r.toString(), `identity ${n}`))
    const identities = new Set(inlets.map((i) => i.identifier))
    assert.equal(identities.size, 1000)
    const peers = new Set([...outletNode.node.channels.values()].map((c) => c.peer.identifier))
    for (const id of identities) assert.ok(peers.has(id))
  } finally {
    await Promise.all(inlets.map((i) => i.stop()))
  }
})
