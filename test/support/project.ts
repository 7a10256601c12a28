import { join } from 'node:path'
import { nodeCrypto } from '../../src/crypto/node-crypto.js'
import type { LocalIdentity } from '../../src/identity/local-identity.js'
import type { AuthorityClient } from '../../src/authority/authority-client.js'
import { Home } from '../../src/node/home.js'
import { authorityClientFor } from '../../src/node/membership.js'
import { NodeRuntime, type AuthorityMode } from '../../src/node/node-runtime.js'
import type { NodeConfig } from '../../src/node/config.js'
import { PorticoNode } from '../../src/node/portico-node.js'
import { openStore } from '../../src/store/open-store.js'
import { newIdentity, testLogger, waitFor } from '../helpers.js'
import { tempDir } from './temp-dir.js'

/** A project in one process: a project node, an admin client, and member nodes started from tickets. */
export interface TestProject {
  home: Home
  authority: NodeRuntime
  admin: AuthorityClient
  runtime: (name: string, identity: LocalIdentity, config: NodeConfig, authority?: AuthorityMode) => Promise<NodeRuntime>
  member: (name: string, attributes: Record<string, string>, config?: NodeConfig) => Promise<NodeRuntime>
  clientAs: (identity: LocalIdentity) => Promise<AuthorityClient>
  stop(): Promise<void>
}

export async function startProject(options: { credentialTtlSeconds?: number } = {}): Promise<TestProject> {
  const dir = tempDir('portico-project-')
  const home = new Home(join(dir, 'home'))
  const cleanups: (() => Promise<void>)[] = []
  const runtime = async (name: string, identity: LocalIdentity, config: NodeConfig, authority?: AuthorityMode): Promise<NodeRuntime> => {
    const store = await openStore(`sqlite:${join(dir, `${name}.sqlite`)}`)
    const controller = new AbortController()
    const rt = await NodeRuntime.start({
      name, home, crypto: nodeCrypto, identity, store, log: testLogger(name), signal: controller.signal,
      config: { 'tcp-listener-address': '127.0.0.1:0', ...config }, ...(authority !== undefined ? { authority } : {})
    })
    cleanups.push(async () => { controller.abort(); await rt.stop(); await store.close() })
    return rt
  }
  const clientAs = async (identity: LocalIdentity): Promise<AuthorityClient> => {
    const project = home.project(nodeCrypto, 'default')
    if (project === undefined) throw new Error('no project')
    const node = await PorticoNode.start({ name: 'client', identity, log: testLogger('client'), authorities: () => [project.authority], project })
    cleanups.push(() => node.stop())
    return authorityClientFor(node, project)
  }
  const adminIdentity = newIdentity()
  const authority = await runtime('authority', newIdentity(), {}, {
    projectName: 'default', admin: adminIdentity.identifier, ...(options.credentialTtlSeconds !== undefined ? { credentialTtlSeconds: options.credentialTtlSeconds } : {})
  })
  const admin = await clientAs(adminIdentity)
  return {
    home, authority, admin, runtime, clientAs,
    async member(name, attributes, config = {}) {
      const { ticket } = await admin.createTicket({ attributes })
      const rt = await runtime(name, newIdentity(), { ticket, ...config })
      await waitFor(() => rt.membership?.ready === true, 5000, `${name} credential`)
      return rt
    },
    async stop() {
      for (const c of cleanups.reverse()) await c()
    }
  }
}
