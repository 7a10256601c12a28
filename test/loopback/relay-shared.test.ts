import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { once } from 'node:events'
import { startProject, type TestProject } from '../support/project.js'
import { roundTrip } from '../support/tcp-servers.js'
import { waitFor } from '../helpers.js'
import type { NodeRuntime } from '../../src/node/node-runtime.js'

// Two outlet nodes in front of "the same service" (two servers that say which one answered)
// register relay `db` shared; an inlet reaches them through it.
let project: TestProject
const servers: Server[] = []
const outlets: NodeRuntime[] = []
let inlet: NodeRuntime
let inletAddress = ''

async function tagged(tag: string): Promise<{ server: Server; address: string }> {
  const server = createServer((s) => {
    s.on('error', () => undefined)
    s.once('data', () => s.end(tag))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const a = server.address()
  if (a === null || typeof a === 'string') throw new Error('no address')
  servers.push(server)
  return { server, address: `127.0.0.1:${a.port}` }
}

const outletConfig = (to: string, shared: boolean): Record<string, unknown> => ({
  'tcp-listener-address': undefined, relay: [shared ? { name: 'db', shared: true } : 'db'],
  'tcp-outlet': [{ to, from: 'outlet', allow: '(= subject.db-inlet "true")', tls: false }]
})

const ask = async (): Promise<string> => (await roundTrip(inletAddress, Buffer.from('who'))).toString()

before(async () => {
  project = await startProject()
  for (const tag of ['a', 'b']) {
    const s = await tagged(tag)
    const o = await project.member(`outlet-${tag}`, { 'db-outlet': 'true', relay: 'db' }, outletConfig(s.address, true))
    await waitFor(() => o.portals.relays.get('db')?.[0]?.registered === true, 5000, `outlet ${tag} registered`)
    outlets.push(o)
  }
  inlet = await project.member('inlet', { 'db-inlet': 'true' }, {
    'tcp-inlet': [{ from: '127.0.0.1:0', via: 'db', outlet: 'outlet', allow: '(= subject.db-outlet "true")' }]
  })
  inletAddress = [...inlet.portals.inlets.keys()][0] ?? ''
})

after(async () => {
  await project.stop()
  for (const s of servers) s.close()
})

test('a relay name registered shared by two outlets: the relay lists both, and new channels are spread over them', async () => {
  assert.deepEqual(project.authority.relayService?.list().filter((r) => r.name === 'db').map((r) => r.shared), [true, true])
  // Each time the inlet's channel to the outlet is opened anew, the relay sends it to the next outlet.
  const seen = new Set<string>()
  for (let i = 0; i < 6 && seen.size < 2; i++) {
    seen.add(await ask())
    for (const c of inlet.portals.inlets.values()) c.channel?.close('next channel, next outlet')
  }
  assert.deepEqual([...seen].sort(), ['a', 'b'])
})

test('an exclusive registration is refused while the name is shared, and a shared one while it is held exclusively', async () => {
  const rogue = await project.member('exclusive', { relay: 'db' }, { relay: ['db'] })
  await waitFor(() => /registered by another identity \(register it shared to join it\)/.test(String(rogue.portals.relays.get('db')?.[0]?.summary().lastError)), 10_000, 'exclusive refused')
  const other = await project.member('holder', { relay: 'only' }, { relay: ['only'] })
  await waitFor(() => other.portals.relays.get('only')?.[0]?.registered === true, 5000, 'exclusive holder registered')
  const joiner = await project.member('joiner', { relay: 'only' }, { relay: [{ name: 'only', shared: true }] })
  await waitFor(() => /registered by another identity$/.test(String(joiner.portals.relays.get('only')?.[0]?.summary().lastError)), 10_000, 'shared refused')
  assert.equal(project.authority.relayService?.list().filter((r) => r.name === 'only').length, 1)
})

test('when one of the outlets goes, every new connection is served by the other', async () => {
  const gone = outlets.shift()
  await gone?.stop()
  await waitFor(() => project.authority.relayService?.list().filter((r) => r.name === 'db').length === 1, 10_000, 'the stopped outlet to leave the relay')
  const answers: string[] = []
  for (let i = 0; i < 6; i++) {
    answers.push(await ask())
    for (const c of inlet.portals.inlets.values()) c.channel?.close('next channel')
  }
  assert.deepEqual([...new Set(answers)], ['b'])
})
