import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { cli, ok, type Cli } from '../support/cli.js'
import { until } from '../support/until.js'
import { freePort, startPostgres, type PostgresServer } from '../support/postgres.js'
import { echoServer, roundTrip, type Target } from '../support/tcp-servers.js'
import { nodePid } from '../support/processes.js'
import { alive, writesAgain } from '../support/node-processes.js'
import { startInflux, type InfluxServer } from '../support/influxdb.js'
import pg from 'pg'
import { newIdentity, testLogger } from '../helpers.js'
import { nodeCrypto } from '../../src/crypto/node-crypto.js'
import { projectFromFile, projectRoutes, type Project } from '../../src/authority/project.js'
import { decodeTicket } from '../../src/authority/ticket.js'
import type { LocalIdentity } from '../../src/identity/local-identity.js'
import { authorityClientFor } from '../../src/node/membership.js'
import { PorticoNode } from '../../src/node/portico-node.js'

// Three project nodes (replicas) on one real PostgreSQL, each a process with its own home (the
// authority key copied with `identity export --with-secret` / `identity import`), an outlet and an
// inlet node: enrollment races, revocation across replicas, and SIGKILL of a replica.
const homes: Cli[] = [cli('portico-replica-1-'), cli('portico-replica-2-'), cli('portico-replica-3-')]
const [first] = homes as [Cli, Cli, Cli]
const replicaNames = ['r1', 'r2', 'r3']
let postgres: PostgresServer
let store = ''
let ports: number[] = []
let inletPort = 0
let target: Target
let project: Project
let influx: InfluxServer | undefined

interface Show { identifier: string; secureChannels: { peer: string }[]; connections: { peer: string }[]; relays: { registered: boolean; replicas?: { registered: boolean }[] }[] }
const show = async (c: Cli, name: string): Promise<Show> => JSON.parse(await ok(c, 'node', 'show', name, '--output', 'json')) as Show

/** A member node in this process that reaches the project through one replica only. */
async function pinned(identity: LocalIdentity, route: string): Promise<PorticoNode> {
  return PorticoNode.start({ name: 'pinned', identity, log: testLogger('pinned'), authorities: () => [project.authority], project: { ...project, route, replicas: [route] } })
}

/** 'enrolled', or why not. */
async function enrollAt(route: string, code: Uint8Array): Promise<string> {
  const node = await pinned(newIdentity(), route)
  try {
    await authorityClientFor(node, node.options.project ?? project).enroll(code)
    return 'enrolled'
  } catch (err) {
    return (err as Error).message
  } finally {
    await node.stop()
  }
}

/** The outcomes of a race, counted: every loser must have been told the ticket is used up. */
function tally(outcomes: string[]): { enrolled: number; others: string[] } {
  const others = outcomes.filter((o) => o !== 'enrolled' && !/ticket/.test(o))
  return { enrolled: outcomes.filter((o) => o === 'enrolled').length, others: [...new Set(others)] }
}

async function recovered(since: number, timeoutMs = 30_000): Promise<number> {
  for (;;) {
    const opened = Date.now()
    if (opened - since > timeoutMs) throw new Error('the portal did not serve again')
    const back = await roundTrip(`127.0.0.1:${inletPort}`, Buffer.from('ping')).then((b) => b.toString(), () => '')
    if (back === 'ping') return opened - since
    await new Promise((r) => setTimeout(r, 100))
  }
}

before(async () => {
  postgres = await startPostgres()
  store = await postgres.createDatabase('project')
  ports = await Promise.all([freePort(), freePort(), freePort()])
  inletPort = await freePort()
  target = await echoServer()
  await ok(first, 'identity', 'create', 'admin')
  await ok(first, 'authority', 'create', 'r1', '--tcp-listener-address', `127.0.0.1:${ports[0]}`, '--store', store)
  const key = join(first.home, 'authority.key')
  const projectFile = join(first.home, 'project.json')
  await ok(first, 'identity', 'export', 'r1', '--with-secret', '--file', key)
  await ok(first, 'project', 'export', '--file', projectFile)
  for (const i of [1, 2]) {
    const c = homes[i] as Cli
    await ok(c, 'identity', 'import', key, '--name', 'authority')
    await ok(c, 'authority', 'create', replicaNames[i] ?? '', '--replica-of', projectFile, '--store', store, '--tcp-listener-address', `127.0.0.1:${ports[i]}`)
  }
  // The first replica learns the others from the store at its next sync, and so does its project file.
  project = await until('the project file to list three replicas', 20_000, async () => {
    const p = projectFromFile(nodeCrypto, JSON.parse(await ok(first, 'project', 'export')))
    return projectRoutes(p).length === 3 ? p : undefined
  })
})

after(async () => {
  for (const n of ['inlet', 'outlet', 'influx-a', 'influx-b', 'device', 'r1']) await first('node', 'delete', n)
  await influx?.stop()
  for (const i of [1, 2]) await (homes[i] as Cli)('node', 'delete', replicaNames[i] ?? '')
  await target.close()
  postgres.stop()
})

test('replicas: every replica serves the project; a one-use ticket raced by 50 enrollments over 3 replicas is redeemed once, a three-use ticket three times', async () => {
  assert.deepEqual([...projectRoutes(project)].sort(), ports.map((p) => `/ip4/127.0.0.1/tcp/${p}`).sort())
  const routes = projectRoutes(project)
  const once = decodeTicket(await ok(first, 'ticket', 'create', '--attribute', 'race=once'))
  assert.equal(once.replicas?.length, 3, 'a ticket names every replica')
  const wins = tally(await Promise.all(Array.from({ length: 50 }, (_, i) => enrollAt(routes[i % 3] ?? '', once.code))))
  assert.deepEqual(wins, { enrolled: 1, others: [] })
  const thrice = decodeTicket(await ok(first, 'ticket', 'create', '--attribute', 'race=thrice', '--usage-count', '3'))
  const more = tally(await Promise.all(Array.from({ length: 30 }, (_, i) => enrollAt(routes[i % 3] ?? '', thrice.code))))
  assert.deepEqual(more, { enrolled: 3, others: [] })
})

test('a member deleted at one replica is refused at every replica, and its channels through every replica close within 15 s', async (t) => {
  const identity = newIdentity()
  const ticket = decodeTicket(await ok(first, 'ticket', 'create', '--attribute', 'device=true'))
  const nodes = await Promise.all(projectRoutes(project).map((r) => pinned(identity, r)))
  try {
    await authorityClientFor(nodes[0] as PorticoNode, project).enroll(ticket.code)
    // A credential from each replica: each verifies everywhere (one authority identity), and each keeps a channel open.
    for (const n of nodes) assert.deepEqual((await authorityClientFor(n, project).credential()).attributes, { device: 'true' })
    const holds = async (i: number): Promise<boolean> => (await show(homes[i] as Cli, replicaNames[i] ?? '')).secureChannels.some((c) => c.peer === identity.identifier)
    for (const i of [0, 1, 2]) assert.equal(await holds(i), true, `replica ${i + 1} holds a channel of the member`)
    const started = Date.now()
    await ok(first, 'member', 'delete', identity.identifier)
    const closedAfter: number[] = []
    for (const i of [0, 1, 2]) {
      await until(`replica ${i + 1} to close the deleted member's channels`, 15_000 - (Date.now() - started), async () => (await holds(i)) ? undefined : true)
      closedAfter.push(Date.now() - started)
    }
    t.diagnostic(`deleted member's channels closed at the three replicas after ${JSON.stringify(closedAfter)} ms`)
    for (const n of nodes) await assert.rejects(authorityClientFor(n, project).credential(), /revoked|not a member/)
  } finally {
    await Promise.all(nodes.map((n) => n.stop()))
  }
})

test('SIGKILL of the replica an inlet goes through: the portal serves again through another, enrollment goes on, the replica comes back', async (t) => {
  for (const [name, args] of [['outlet', ['--attribute', 'db-outlet=true', '--relay', 'db']], ['inlet', ['--attribute', 'db-inlet=true']]] as const) {
    await ok(first, 'identity', 'create', name)
    await ok(first, 'enroll', await ok(first, 'ticket', 'create', ...args), '--identity', name)
  }
  await ok(first, 'node', 'create', 'outlet', '--identity', 'outlet', '--configuration', `{relay: db, tcp-outlet: {to: "${target.address}", allow: db-inlet}}`)
  await until('the relay to be registered at every replica', 20_000, async () => {
    const relay = (await show(first, 'outlet')).relays[0]
    return relay?.replicas?.length === 3 && relay.replicas.every((r) => r.registered) ? true : undefined
  })
  await ok(first, 'node', 'create', 'inlet', '--identity', 'inlet', '--configuration', `tcp-inlet: {from: "127.0.0.1:${inletPort}", via: db, allow: db-outlet}`)
  await recovered(Date.now())

  const used = (await show(first, 'inlet')).connections.map((c) => ports.findIndex((p) => c.peer.endsWith(`:${p}`))).find((i) => i >= 0)
  assert.ok(used !== undefined, 'the inlet is connected to a replica')
  const home = homes[used] as Cli
  const name = replicaNames[used] ?? ''
  const pid = nodePid(home.home, name)
  const killed = Date.now()
  process.kill(pid, 'SIGKILL')
  while (alive(pid)) await new Promise((r) => setTimeout(r, 20))
  const figures: Record<string, number> = { portal: await recovered(killed) }

  // Enrollment at the replicas left: the CLI and the new node pass over the dead one.
  const enrolled = Date.now()
  await ok(first, 'identity', 'create', 'late')
  await ok(first, 'enroll', await ok(first, 'ticket', 'create', '--attribute', 'late=true'), '--identity', 'late')
  figures['ticket and enrollment'] = Date.now() - enrolled

  await ok(home, 'node', 'start', name)
  const back = projectRoutes(project)[used] ?? ''
  assert.equal(await enrollAt(back, decodeTicket(await ok(first, 'ticket', 'create', '--attribute', 'back=true')).code), 'enrolled', 'the restarted replica enrolls again')
  await until('the outlet to register its relay again at the restarted replica', 20_000, async () => {
    const relay = (await show(first, 'outlet')).relays[0]
    return relay?.replicas?.every((r) => r.registered) === true ? true : undefined
  })
  t.diagnostic(`after SIGKILL of replica ${used + 1}: ms ${JSON.stringify(figures)}`)
})

test('two influxdb outlets share a relay and their leases (PostgreSQL): SIGKILL of the one a device writes through, the device writes through the other, and the dead one\'s lease is revoked by its sibling on time', async (t) => {
  influx = await startInflux()
  const admin = { username: influx.admin.username, password: influx.admin.password }
  await influx.query('CREATE DATABASE dev1', admin)
  const leaseUsers = async (): Promise<string[]> => {
    const r = await (influx as InfluxServer).query('SHOW USERS', admin)
    return ((JSON.parse(r.body) as { results: { series?: { values: string[][] }[] }[] }).results[0]?.series?.[0]?.values ?? []).map((v) => v[0] ?? '').filter((u) => u.startsWith('portico_lease_'))
  }
  const outletStore = await postgres.createDatabase('outlets')
  first.env.INFLUX_PASSWORD = influx.admin.password
  const outlets = ['influx-a', 'influx-b']
  for (const name of outlets) {
    await ok(first, 'identity', 'create', name)
    await ok(first, 'enroll', await ok(first, 'ticket', 'create', '--attribute', 'influxdb-outlet=true', '--relay', 'influx'), '--identity', name)
    await ok(first, 'node', 'create', name, '--identity', name, '--store', outletStore, '--configuration', JSON.stringify({
      relay: { name: 'influx', shared: true },
      'influxdb-outlet': {
        to: influx.address, api: 'v1', allow: 'influxdb-inlet', 'admin-username': influx.admin.username, 'admin-password': '$INFLUX_PASSWORD',
        'leased-token-expires-in': '10s', 'leased-token-permissions': [{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]
      }
    }))
  }
  const devicePort = await freePort()
  await ok(first, 'identity', 'create', 'device')
  await ok(first, 'enroll', await ok(first, 'ticket', 'create', '--attribute', 'influxdb-inlet=true', '--attribute', 'bucket=dev1'), '--identity', 'device')
  await ok(first, 'node', 'create', 'device', '--identity', 'device', '--configuration', `influxdb-inlet: {from: ${devicePort}, via: influx, allow: influxdb-outlet}`)
  await writesAgain(devicePort, 'dev1', Date.now())

  const ids = await Promise.all(outlets.map(async (n) => (await show(first, n)).identifier))
  const peers = (await show(first, 'device')).secureChannels.map((c) => c.peer)
  const serving = ids.findIndex((id) => peers.includes(id))
  assert.ok(serving >= 0, 'the device has a channel to one of the outlets')
  const before = await leaseUsers()
  assert.equal(before.length, 1, 'the device holds one lease')
  const pid = nodePid(first.home, outlets[serving] ?? '')
  const killed = Date.now()
  process.kill(pid, 'SIGKILL')
  while (alive(pid)) await new Promise((r) => setTimeout(r, 20))
  const figures: Record<string, number> = { 'writes again': await writesAgain(devicePort, 'dev1', killed) }
  // The dead outlet's lease is in the shared store: its sibling revokes it when it is due.
  await until('the dead outlet\'s lease to be revoked by its sibling', 30_000, async () => (await leaseUsers()).includes(before[0] ?? '') ? undefined : true)
  figures['dead outlet\'s lease revoked'] = Date.now() - killed

  await ok(first, 'node', 'start', outlets[serving] ?? '')
  await writesAgain(devicePort, 'dev1', Date.now())
  // Nothing orphaned: every lease user in the database is a live lease in the shared store.
  const client = new pg.Client({ connectionString: outletStore })
  await client.connect()
  try {
    await until('the database\'s lease users to be the store\'s live leases', 30_000, async () => {
      const live = (await client.query<{ backend_id: string }>('SELECT backend_id FROM leases WHERE revoked_at IS NULL')).rows.map((r) => r.backend_id)
      const inDb = await leaseUsers()
      return inDb.every((u) => live.includes(u)) ? true : undefined
    })
  } finally {
    await client.end()
  }
  t.diagnostic(`after SIGKILL of outlet ${outlets[serving] ?? ''}: ms ${JSON.stringify(figures)}`)
})
