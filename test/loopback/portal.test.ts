import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect, createServer, type AddressInfo } from 'node:net'
import { local, tcp, type Address } from '../../src/routing/address.js'
import { encodeMessage } from '../../src/routing/message.js'
import { frameHeader, PROTOCOL_VERSION } from '../../src/transport/frame-decoder.js'
import { once } from 'node:events'
import fc from 'fast-check'
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
  await waitFor(() => outletNode.portals.relays.get('db')?.[0]?.registered === true, 5000, 'relay registered')
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
  const inParts = (): number[] => [inletNode, outletNode, project.authority].map((n) => n.node.router.stats.deliveredInParts)
  const before = inParts()
  const data = randomBytes(10 * 1024 * 1024 + 17)
  const back = await roundTrip(inletAddress, data)
  assert.equal(back.length, data.length)
  assert.equal(sha256(back), sha256(data))
  // Chunks went into the channel in pieces, and frames that spanned socket reads were decrypted
  // (ends) and forwarded (relay) in pieces: the copy-free paths really carried these bytes.
  inParts().forEach((n, i) => assert.ok(n > (before[i] ?? 0), `node ${i} delivered nothing in pieces`))
})

test('a client that reads late still gets every byte, though both sockets closed before the last of them crossed', async () => {
  // The client writes, half-closes and reads nothing for a while: credit runs out at the outlet, so
  // the echo server's last bytes, its end and its close all come while the outlet still owes bytes,
  // and the inlet still holds unwritten bytes when the outlet's close arrives.
  const data = randomBytes(4 * 1024 * 1024 + 5)
  const [host, port] = inletAddress.split(':')
  const socket = connect({ host, port: Number(port), allowHalfOpen: true })
  socket.on('error', () => undefined)
  await once(socket, 'connect')
  socket.pause()
  socket.end(data)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const chunks: Buffer[] = []
  // Slowly to the end, so that the last bytes are still waiting in the inlet when the close comes.
  socket.on('data', (c: Buffer) => {
    chunks.push(c)
    socket.pause()
    setTimeout(() => socket.resume(), 5)
  })
  socket.resume()
  await once(socket, 'close')
  const back = Buffer.concat(chunks)
  assert.equal(back.length, data.length)
  assert.equal(sha256(back), sha256(data))
})

test('concurrent connections of any shape each get exactly their own bytes back, in order', async () => {
  const piece = fc.record({ bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 300_000 }).map((n) => randomBytes(n))), pause: fc.boolean() })
  await fc.assert(fc.asyncProperty(fc.array(fc.array(piece, { maxLength: 12 }), { minLength: 1, maxLength: 6 }), async (connections) => {
    const echoes = await Promise.all(connections.map((pieces) => roundTrip(inletAddress, pieces)))
    connections.forEach((pieces, i) => {
      const sent = Buffer.concat(pieces.map((p) => p.bytes))
      assert.equal(echoes[i]?.length, sent.length)
      assert.ok(echoes[i]?.equals(sent), `connection ${i} got other bytes back`)
    })
  }), { numRuns: 40 })
})

test('a relayed portal channel runs plainly over the connections the project channels authenticate', async () => {
  await roundTrip(inletAddress, Buffer.from('warm'))
  const e2e = inletNode.node.listChannels().find((c) => c.peer === outletNode.node.identifier)
  // Straight onto the inlet's TCP connection to the project and from there onto the outlet's, not
  // into the channels to the project: the end-to-end ciphertext is not encrypted twice more.
  assert.match(String(e2e?.remoteRoute), /^0#tcp-[0-9a-f]+ => 0#tcp-[0-9a-f]+ => 0#sc-in-[0-9a-f]+$/)
  assert.ok(inletNode.node.listChannels().some((c) => c.peer === project.authority.node.identifier), 'the project channel that admits it stays open')
})

test('a connection without a member credential can neither use a relay nor reach other peers through the project node', async () => {
  const canary = createServer((s) => s.destroy())
  let canaryConnections = 0
  canary.on('connection', () => canaryConnections++)
  canary.listen(0, '127.0.0.1')
  await once(canary, 'listening')
  const canaryAddress = `127.0.0.1:${(canary.address() as AddressInfo).port}`
  const relayed = (): number => project.authority.relayService?.list().find((r) => r.name === 'db')?.forwarded ?? 0
  const before = relayed()
  const denied = project.authority.node.router.stats.dropped.denied
  const [host, port] = (project.authority.node.listenAddress ?? '').split(':')
  const raw = connect({ host: host ?? '', port: Number(port) })
  raw.on('error', () => undefined)
  await once(raw, 'connect')
  const frame = (onward: Address[]): Buffer => {
    const body = encodeMessage({ onward, return: [], payload: randomBytes(64) })
    return Buffer.concat([frameHeader(body.byteLength), body])
  }
  raw.write(Buffer.concat([Uint8Array.of(PROTOCOL_VERSION), frame([local('forward_to_db'), local('api')]), frame([tcp(canaryAddress), local('api')])]))
  await waitFor(() => project.authority.node.router.stats.dropped.denied > denied, 5000, 'plain relay use denied')
  await new Promise((r) => setTimeout(r, 300))
  assert.equal(relayed(), before, 'nothing was relayed for the stranger')
  assert.equal(canaryConnections, 0, 'the project node opened no connection for the stranger')
  raw.destroy()
  canary.close()
  assert.equal((await roundTrip(inletAddress, Buffer.from('members unaffected'))).toString(), 'members unaffected')
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
  await waitFor(() => sneaky.portals.relays.get('db')?.[0]?.summary().lastError !== null, 5000, 'registration refused')
  assert.match(String(sneaky.portals.relays.get('db')?.[0]?.summary().lastError), /may not register relay 'db'/)
  // The real outlet's registration is untouched.
  assert.equal((await roundTrip(inletAddress, Buffer.from('still mine'))).toString(), 'still mine')
})

test('a relay name held by a live registration is refused to another identity, even one allowed to register it', async () => {
  const rogue = await project.member('rogue', { relay: 'db' }, { relay: ['db'] })
  await waitFor(() => /registered by another identity/.test(String(rogue.portals.relays.get('db')?.[0]?.summary().lastError)), 10_000, 'registration refused')
  assert.equal(rogue.portals.relays.get('db')?.[0]?.registered, false)
  assert.equal((await roundTrip(inletAddress, Buffer.from('still the real outlet'))).toString(), 'still the real outlet')
  const metrics = await project.authority.metrics.registry.getSingleMetricAsString('portico_relay_registration_changes_total')
  assert.match(metrics, /change="refused"} [1-9]/)
})

test('an outlet configured for fewer connections refuses the one over its limit with the reason, and serves again once one closes', async () => {
  await outletNode.portals.addOutlet({ to: target.address, from: 'narrow', tls: false, allow: '(= subject.db-inlet "true")', 'max-connections': 1 })
  const { from } = await inletNode.portals.addInlet({ from: '127.0.0.1:0', via: 'db', outlet: 'narrow', allow: '(= subject.db-outlet "true")' }) as { from: string }
  const [host, port] = from.split(':')
  const held = connect({ host, port: Number(port) })
  held.on('error', () => undefined)
  held.write('first')
  assert.equal(String((await once(held, 'data') as [Buffer])[0]), 'first')
  // The second is closed without an answer: the outlet carries one connection.
  const second = await roundTrip(from, Buffer.from('second')).catch(() => Buffer.alloc(0))
  assert.equal(second.length, 0)
  const narrow = outletNode.portals.outlets.get('narrow')
  assert.ok((narrow?.refused ?? 0) >= 1)
  held.destroy()
  await waitFor(() => narrow?.size === 0, 5000, 'the held connection closed at the outlet')
  assert.equal(String(await roundTrip(from, Buffer.from('third'))), 'third')
  await inletNode.portals.remove('tcp-inlet', from)
  await outletNode.portals.remove('tcp-outlet', 'narrow')
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
  // Half close cleanly, half reset as a crashed client does: either way the outlet lets go.
  sockets.forEach((s, i) => { if (i % 2 === 0) s.destroy(); else s.resetAndDestroy() })
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
