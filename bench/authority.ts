// npm run bench:authority — enrollments/s, credential latency, and 10,000-member store size and memory,
// SQLite and PostgreSQL side by side in one run.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { nodeCrypto } from '../src/crypto/node-crypto.js'
import { LocalIdentity } from '../src/identity/local-identity.js'
import { MemoryVault } from '../src/identity/vault.js'
import { decodeTicket } from '../src/authority/ticket.js'
import { Home } from '../src/node/home.js'
import { authorityClientFor } from '../src/node/membership.js'
import { NodeRuntime } from '../src/node/node-runtime.js'
import { PorticoNode } from '../src/node/portico-node.js'
import { openStore } from '../src/store/open-store.js'
import type { Store } from '../src/store/store.js'
import { silentLogger } from '../src/log/logger.js'
import { startPostgres } from '../test/support/postgres.js'
import { fmt, percentile, report } from './lib/report.js'

const ENROLLMENTS = Number(process.env.BENCH_ENROLLMENTS ?? 400)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16)
const CREDENTIALS = Number(process.env.BENCH_CREDENTIALS ?? 1000)
const MEMBERS = 10_000

const identity = (): LocalIdentity => LocalIdentity.create(nodeCrypto, new MemoryVault())

async function measure(kind: string, store: Store, dir: string): Promise<Record<string, string | number>> {
  const home = new Home(join(dir, `home-${kind}`))
  const admin = identity()
  const controller = new AbortController()
  const rt = await NodeRuntime.start({
    name: `authority-${kind}`, home, crypto: nodeCrypto, identity: identity(), store, log: silentLogger, signal: controller.signal,
    config: { 'tcp-listener-address': '127.0.0.1:0' }, authority: { projectName: 'default', admin: admin.identifier }
  })
  const project = rt.project ?? (() => { throw new Error('no project') })()
  const clientNode = async (id: LocalIdentity): Promise<PorticoNode> =>
    PorticoNode.start({ name: 'c', identity: id, log: silentLogger, authorities: () => [project.authority], project })
  const adminNode = await clientNode(admin)
  const adminClient = authorityClientFor(adminNode, project)
  const { ticket } = await adminClient.createTicket({ attributes: { 'influxdb-inlet': 'true' }, usageCount: ENROLLMENTS })
  const code = decodeTicket(ticket).code

  // One enrollment: a new identity, a secure channel to the authority, redeem, fetch a credential.
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < ENROLLMENTS) {
      next++
      const node = await clientNode(identity())
      const client = authorityClientFor(node, project)
      await client.enroll(code)
      await client.credential()
      await node.stop()
    }
  }))
  const enrollSeconds = (performance.now() - t0) / 1000

  const member = await clientNode(identity())
  await adminClient.addMember(member.identifier, { 'influxdb-inlet': 'true' })
  const memberClient = authorityClientFor(member, project)
  await memberClient.credential()
  const latencies: number[] = []
  for (let i = 0; i < CREDENTIALS; i++) {
    const s = performance.now()
    await memberClient.credential()
    latencies.push(performance.now() - s)
  }
  latencies.sort((a, b) => a - b)

  // 10,000 members: what the store and the authority process hold for them.
  global.gc?.()
  const heapBefore = process.memoryUsage().heapUsed
  const sizeBefore = await store.sizeBytes()
  const existing = await store.members.count()
  const batch = 50
  for (let i = 0; i < MEMBERS; i += batch) {
    await Promise.all(Array.from({ length: batch }, (_, j) => store.members.put({
      identifier: `I${(i + j).toString(16).padStart(64, '0')}`, attributes: { 'influxdb-inlet': 'true', bucket: `device-${i + j}` },
      role: 'member', addedAt: Math.floor(Date.now() / 1000), addedBy: admin.identifier
    })))
  }
  const listed = await store.members.list()
  global.gc?.()
  const heapAfter = process.memoryUsage().heapUsed
  const sizeAfter = await store.sizeBytes()
  const lookups: number[] = []
  for (let i = 0; i < 1000; i++) {
    const s = performance.now()
    await store.members.get(`I${(i * 7).toString(16).padStart(64, '0')}`)
    lookups.push(performance.now() - s)
  }
  lookups.sort((a, b) => a - b)

  await member.stop()
  await adminNode.stop()
  controller.abort()
  await rt.stop()
  return {
    store: kind,
    'enrollments/s': fmt(ENROLLMENTS / enrollSeconds, 1),
    'credential p50 ms': fmt(percentile(latencies, 50), 3),
    'credential p99 ms': fmt(percentile(latencies, 99), 3),
    'members stored': existing + MEMBERS,
    'store MiB for 10k members': fmt((sizeAfter - sizeBefore) / 2 ** 20, 2),
    'authority heap MiB holding 10k members': fmt((heapAfter - heapBefore) / 2 ** 20, 1),
    'listed': listed.length,
    'member lookup p50 ms': fmt(percentile(lookups, 50), 3)
  }
}

const dir = mkdtempSync(join(tmpdir(), 'portico-bench-authority-'))
const postgres = await startPostgres()
try {
  const rows = [
    await measure('sqlite', await openStore(`sqlite:${join(dir, 'bench.sqlite')}`), dir),
    await measure('postgres', await openStore(await postgres.createDatabase('bench')), dir)
  ]
  report('authority', rows, { enrollments: ENROLLMENTS, concurrency: CONCURRENCY, credentialRequests: CREDENTIALS, members: MEMBERS })
} finally {
  postgres.stop()
  rmSync(dir, { recursive: true, force: true })
}
process.exit(0)
