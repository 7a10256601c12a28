import type { Logger } from 'pino'
import { AuthorityClient } from '../authority/authority-client.js'
import type { Project } from '../authority/project.js'
import type { Crypto } from '../crypto/crypto.js'
import { CredentialManager } from './credential-manager.js'
import type { PorticoNode } from './portico-node.js'
import { RevocationWatcher } from './revocation-watcher.js'

/** A client of the project's authority, through a secure channel from `node` that trusts only the authority. */
export function authorityClientFor(node: PorticoNode, project: Project): AuthorityClient {
  return new AuthorityClient(node.router, async (signal) => {
    const route = await node.resolve(`/project/${project.name}`, signal !== undefined ? { signal } : {})
    const address = route[0]?.value ?? ''
    return { route, isOpen: () => node.channels.has(address) }
  })
}

/**
 * A node's life in a project: its authority client, its credential kept fresh, and the revocation
 * list applied. Created before the node (whose handshakes read the credential provider) and
 * attached to it once started.
 */
export class Membership {
  readonly credentials: CredentialManager
  readonly revocations: RevocationWatcher
  private node: PorticoNode | undefined
  private authorityClient: AuthorityClient | undefined

  constructor(readonly project: Project, crypto: Crypto, log: Logger, now: () => number) {
    this.credentials = new CredentialManager((signal) => this.client.credential(signal), log.child({ scope: 'credentials' }),
      () => this.node?.refreshCredentials(), now)
    this.revocations = new RevocationWatcher((signal) => this.client.revocations(signal), crypto, project.authority,
      log.child({ scope: 'revocations' }), (id) => this.node?.revoke(id), (id) => this.node?.unrevoke(id), now)
  }

  get client(): AuthorityClient {
    if (this.authorityClient === undefined) throw new Error('membership used before its node started')
    return this.authorityClient
  }

  attach(node: PorticoNode): void {
    this.node = node
    this.authorityClient = authorityClientFor(node, this.project)
  }

  /** Resolves when the first credential is in hand; refreshing and revocation polling go on until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    await this.credentials.start(signal)
    this.revocations.start(signal)
  }

  get ready(): boolean {
    return this.credentials.credentials().length > 0
  }
}
