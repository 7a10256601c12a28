// npm run bench:ha — a project replicated three times on one PostgreSQL, all real processes:
// enrollments with one replica and with three (CPU per enrollment at the replicas), credential
// latency, failover over repeated SIGKILLs of a replica and of an outlet, revocation lateness
// across replicas, and the memory of a replica holding many connected nodes.
import { performance } from 'node:perf_hooks'
import { projectRoutes, type Project } from '../src/authority/project.js'
import { decodeTicket } from '../src/authority/ticket.js'
import { nodeCrypto } from '../src/crypto/node-crypto.js'
import { Home } from '../src/node/home.js'
import { authorityClientFor } from '../src/node/membership.js'
import type { PorticoNode } from '../src/node/portico-node.js'
import { freePort, startPostgres } from '../test/support/postgres.js'
import { cpuSeconds, nodePid, rssBytes } from '../test/support/processes.js'
import { echoServer, roundTrip } from '../test/support/tcp-servers.js'
import { identity, kill, pidOf, pinnedNode, startReplicas, until, type Replica } from './lib/ha-cluster.js'
import { fmt, percentile, report } from './lib/report.js'

const ENROLLMENTS = Number(process.env.BENCH_ENROLLMENTS ?? 300)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 12)
const KILLS = Number(process.env.BENCH_KILLS ?? 3)
const REVOKED = Number(process.env.BENCH_REVOKED ?? 10)
const CONNECTED = Number(process.env.BENCH_CONNECTED ?? 1000)
const FAILOVER_GOAL_MS = 5000
const REVOCATION_GOAL_MS = 15_000
const CPU_RATIO_GOAL = 1.2

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b)

/** ENROLLMENTS new identities, each enrolling and fetching a credential through one of `routes` in turn. */
async function enrollments(project: Project, admin: PorticoNode, routes: readonly string[], replicas: Replica[], count = ENROLLMENTS): Promise<{ perSecond: number; cpuPerEnrollmentMs: number; credentialMs: number[] }> {
  const { ticket } = await authorityClientFor(admin, project).createTicket({ attributes: { fleet: 'bench' }, usageCount: count })
  const code = decodeTicket(ticket).code
  const pids = replicas.map(pidOf)
  const cpu0 = pids.map(cpuSeconds)
  const credentialMs: number[] = []
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) {
      const i = next++
      const node = await pinnedNode(project, identity(), [routes[i % routes.length] ?? ''])
      try {
        const client = authorityClientFor(node, project)
        await client.enroll(code)
        const c0 = performance.now()
        await client.credential()
        credentialMs.push(performance.now() - c0)
      } finally {
        await node.stop()
      }
    }
  }))
  const seconds = (performance.now() - t0) / 1000
  const cpu = pids.map(cpuSeconds).reduce((sum, c, i) => sum + c - (cpu0[i] ?? 0), 0)
  return { perSecond: count / seconds, cpuPerEnrollmentMs: cpu * 1000 / count, credentialMs }
}

/** Milliseconds from `since` until a connection through the inlet round-trips. */
async function serving(inlet: string, since: number): Promise<number> {
  for (;;) {
    const opened = Date.now()
    const back = await Promise.race([
      roundTrip(inlet, Buffer.from('ping')).then((b) => b.toString(), () => ''),
      new Promise<string>((r) => setTimeout(() => r(''), 3000))
    ])
    if (back === 'ping') return opened - since
    if (Date.now() - since > 60_000) throw new Error('the portal did not serve again within 60 s')
    await new Promise((r) => setTimeout(r, 50))
  }
}

interface Show { identifier: string; secureChannels: { peer: string }[]; connections: { peer: string }[]; relays: { replicas?: { registered: boolean }[] }[] }

async function main(): Promise<void> {
  const pg = await startPostgres()
  const target = await echoServer()
  const { replicas, project: readProject } = await startReplicas(await pg.createDatabase('ha'), 3)
  const [first] = replicas as [Replica, ...Replica[]]
  const show = async (name: string): Promise<Show> => JSON.parse(await first.portico('node', 'show', name, '--output', 'json')) as Show
  const stopped: (() => Promise<unknown>)[] = []
  try {
    const project = await readProject()
    const routes = projectRoutes(project)
    const admin = new Home(first.home).loadIdentity(nodeCrypto, 'admin')
    const adminNode = await pinnedNode(project, admin, routes)
    stopped.push(() => adminNode.stop())

    // Every replica warmed up first with as many enrollments as a measured run (JIT, pools): a cold
    // replica spends CPU on compiling that a warm one does not, which would be charged to three.
    await enrollments(project, adminNode, routes, replicas, ENROLLMENTS * routes.length)
    const one = await enrollments(project, adminNode, [first.route], replicas)
    const three = await enrollments(project, adminNode, routes, replicas)

    // Revocation: a member holding a channel at every replica is deleted at one; each replica closes its channel.
    const lateness: number[] = []
    for (let i = 0; i < REVOKED; i++) {
      const id = identity()
      const { ticket } = await authorityClientFor(adminNode, project).createTicket({ attributes: { revoked: 'soon' } })
      const nodes = await Promise.all(routes.map((r) => pinnedNode(project, id, [r])))
      await authorityClientFor(nodes[0] as PorticoNode, project).enroll(decodeTicket(ticket).code)
      for (const n of nodes) await authorityClientFor(n, project).credential()
      const deletedAt = Date.now()
      const deleter = await pinnedNode(project, admin, [routes[i % routes.length] ?? ''])
      await authorityClientFor(deleter, project).deleteMember(id.identifier)
      await deleter.stop()
      await Promise.all(nodes.map(async (n) => {
        await until('the revoked member\'s channel to close', 30_000, () => Promise.resolve(n.channels.size === 0 ? true : undefined))
        lateness.push(Date.now() - deletedAt)
        await n.stop()
      }))
    }

    // Memory: CONNECTED members, each with its own channel to the first replica.
    const rss0 = rssBytes(pidOf(first))
    const { ticket: fleet } = await authorityClientFor(adminNode, project).createTicket({ attributes: { fleet: 'connected' }, usageCount: CONNECTED })
    const connected: PorticoNode[] = []
    for (let i = 0; i < CONNECTED; i += 50) {
      connected.push(...await Promise.all(Array.from({ length: Math.min(50, CONNECTED - i) }, async () => {
        const n = await pinnedNode(project, identity(), [first.route])
        await authorityClientFor(n, project).enroll(decodeTicket(fleet).code)
        await authorityClientFor(n, project).credential()
        return n
      })))
    }
    const rssConnected = rssBytes(pidOf(first))
    for (const n of connected) await n.stop()

    // Failover: two outlets share relay `db` in front of an echo server; an inlet reaches them through a replica.
    const inletPort = await freePort()
    for (const name of ['outlet-a', 'outlet-b', 'inlet']) {
      await first.portico('identity', 'create', name)
      const args = name === 'inlet' ? ['--attribute', 'db-inlet=true'] : ['--attribute', 'db-outlet=true', '--relay', 'db']
      await first.portico('enroll', await first.portico('ticket', 'create', ...args), '--identity', name)
      const configuration = name === 'inlet'
        ? `tcp-inlet: {from: "127.0.0.1:${inletPort}", via: db, allow: db-outlet}`
        : `{relay: {name: db, shared: true}, tcp-outlet: {to: "${target.address}", allow: db-inlet}}`
      await first.portico('node', 'create', name, '--identity', name, '--configuration', configuration)
    }
    const inlet = `127.0.0.1:${inletPort}`
    const everywhere = async (): Promise<void> => {
      for (const o of ['outlet-a', 'outlet-b']) await until(`${o} registered at every replica`, 30_000, async () => (await show(o)).relays[0]?.replicas?.every((r) => r.registered) === true ? true : undefined)
    }
    await everywhere()
    await serving(inlet, Date.now())
    const replicaFailover: number[] = []
    const outletFailover: number[] = []
    for (let k = 0; k < KILLS; k++) {
      const used = replicaOf(await show('inlet'), replicas)
      const killedAt = Date.now()
      await kill(pidOf(used))
      replicaFailover.push(await serving(inlet, killedAt))
      await used.portico('node', 'start', used.name)
      await everywhere()
      const peers = (await show('inlet')).secureChannels.map((c) => c.peer)
      const outlet = (await Promise.all(['outlet-a', 'outlet-b'].map(async (o) => ({ o, id: (await show(o)).identifier })))).find((x) => peers.includes(x.id))?.o ?? 'outlet-a'
      const outletKilledAt = Date.now()
      await kill(nodePid(first.home, outlet))
      outletFailover.push(await serving(inlet, outletKilledAt))
      await first.portico('node', 'start', outlet)
      await everywhere()
    }
    stopped.push(async () => { for (const n of ['inlet', 'outlet-a', 'outlet-b']) await first.portico('node', 'delete', n).catch(() => undefined) })

    const rf = sorted(replicaFailover)
    const of = sorted(outletFailover)
    const lat = sorted(lateness)
    const creds1 = sorted(one.credentialMs)
    const creds3 = sorted(three.credentialMs)
    const cpuRatio = three.cpuPerEnrollmentMs / one.cpuPerEnrollmentMs
    report('ha', [
      { measure: 'enrollments/s (wall; 2 CPUs shared by all)', 'one replica': fmt(one.perSecond), 'three replicas': fmt(three.perSecond), goal: '' },
      { measure: 'replica CPU ms per enrollment', 'one replica': fmt(one.cpuPerEnrollmentMs), 'three replicas': fmt(three.cpuPerEnrollmentMs), goal: `ratio ${fmt(cpuRatio)} ≤ ${CPU_RATIO_GOAL}` },
      { measure: 'credential issue ms p50 / p99', 'one replica': `${fmt(percentile(creds1, 50))} / ${fmt(percentile(creds1, 99))}`, 'three replicas': `${fmt(percentile(creds3, 50))} / ${fmt(percentile(creds3, 99))}`, goal: '' },
      { measure: `failover ms after SIGKILL of a replica, p50 / max of ${KILLS}`, 'one replica': '', 'three replicas': `${fmt(percentile(rf, 50))} / ${fmt(rf.at(-1) ?? 0)}`, goal: `max ≤ ${FAILOVER_GOAL_MS}` },
      { measure: `failover ms after SIGKILL of an outlet (of two), p50 / max of ${KILLS}`, 'one replica': '', 'three replicas': `${fmt(percentile(of, 50))} / ${fmt(of.at(-1) ?? 0)}`, goal: `max ≤ ${FAILOVER_GOAL_MS}` },
      { measure: `revocation lateness ms across replicas, p50 / p99 of ${lat.length}`, 'one replica': '', 'three replicas': `${fmt(percentile(lat, 50))} / ${fmt(percentile(lat, 99))}`, goal: `p99 ≤ ${REVOCATION_GOAL_MS}` },
      { measure: `replica RSS MiB, idle / with ${CONNECTED} connected nodes`, 'one replica': `${fmt(rss0 / 2 ** 20)} / ${fmt(rssConnected / 2 ** 20)}`, 'three replicas': '', goal: '' }
    ], {
      enrollments: ENROLLMENTS, concurrency: CONCURRENCY, cpuRatio, replicaFailoverMs: replicaFailover, outletFailoverMs: outletFailover, revocationLatenessMs: lateness,
      rssIdleBytes: rss0, rssConnectedBytes: rssConnected, connected: CONNECTED,
      goalsMet: { failover: Math.max(...rf, ...of) <= FAILOVER_GOAL_MS, revocation: percentile(lat, 99) <= REVOCATION_GOAL_MS, cpu: cpuRatio <= CPU_RATIO_GOAL }
    })
  } finally {
    for (const s of stopped.reverse()) await s()
    for (const r of replicas) await r.portico('node', 'delete', r.name).catch(() => undefined)
    await target.close()
    pg.stop()
  }
}

/** The replica the inlet node is connected to (by its TCP connections). */
function replicaOf(s: Show, replicas: Replica[]): Replica {
  const r = replicas.find((x) => s.connections.some((c) => c.peer.endsWith(`:${x.port}`)))
  if (r === undefined) throw new Error('the inlet is connected to no replica')
  return r
}

await main()
