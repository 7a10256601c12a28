import { join } from 'node:path'
import { nodeCrypto } from '../../src/crypto/node-crypto.js'
import { projectFromFile, projectRoutes, type Project } from '../../src/authority/project.js'
import { LocalIdentity } from '../../src/identity/local-identity.js'
import { MemoryVault } from '../../src/identity/vault.js'
import { silentLogger } from '../../src/log/logger.js'
import { PorticoNode } from '../../src/node/portico-node.js'
import { freePort } from '../../test/support/postgres.js'
import { nodePid } from '../../test/support/processes.js'
import { alive } from '../../test/support/node-processes.js'
import { benchHome } from './portico-cli.js'
import { until } from '../../test/support/until.js'

export type Portico = (...args: string[]) => Promise<string>
export interface Replica { name: string; home: string; portico: Portico; port: number; route: string }

export const identity = (): LocalIdentity => LocalIdentity.create(nodeCrypto, new MemoryVault())

/**
 * `count` project replicas on one PostgreSQL database, each a real process in a home of its own
 * (the first home also holds the admin); resolves once the project file lists every one.
 */
export async function startReplicas(store: string, count: number): Promise<{ replicas: Replica[]; project: () => Promise<Project> }> {
  const replicas: Replica[] = []
  for (let i = 0; i < count; i++) {
    const { home, portico } = benchHome(`portico-ha-${i + 1}-`)
    const port = await freePort()
    replicas.push({ name: `r${i + 1}`, home, portico, port, route: `/ip4/127.0.0.1/tcp/${port}` })
  }
  const [first] = replicas
  if (first === undefined) throw new Error('no replica')
  await first.portico('identity', 'create', 'admin')
  await first.portico('authority', 'create', first.name, '--tcp-listener-address', `127.0.0.1:${first.port}`, '--store', store)
  const key = join(first.home, 'authority.key')
  const file = join(first.home, 'project.json')
  await first.portico('identity', 'export', first.name, '--with-secret', '--file', key)
  await first.portico('project', 'export', '--file', file)
  for (const r of replicas.slice(1)) {
    await r.portico('identity', 'import', key, '--name', 'authority')
    await r.portico('authority', 'create', r.name, '--replica-of', file, '--store', store, '--tcp-listener-address', `127.0.0.1:${r.port}`)
  }
  const project = async (): Promise<Project> => projectFromFile(nodeCrypto, JSON.parse(await first.portico('project', 'export')))
  await until('every replica in the project file', 30_000, async () => projectRoutes(await project()).length === count ? true : undefined)
  return { replicas, project }
}

export const pidOf = (r: Replica): number => nodePid(r.home, r.name)

/** SIGKILL of a node's process; resolves once it is gone. */
export async function kill(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL')
  while (alive(pid)) await new Promise((r) => setTimeout(r, 10))
}

/** A member node in this process that reaches the project through the given replicas only. */
export function pinnedNode(project: Project, id: LocalIdentity, routes: readonly string[]): Promise<PorticoNode> {
  return PorticoNode.start({ name: 'bench', identity: id, log: silentLogger, authorities: () => [project.authority], project: { ...project, route: routes[0] ?? project.route, replicas: routes } })
}

export { until }
