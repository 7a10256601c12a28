import { nodeCrypto } from '../src/crypto/node-crypto.js'
import { LocalIdentity } from '../src/identity/local-identity.js'
import { MemoryVault } from '../src/identity/vault.js'
import { PorticoNode, type NodeOptions } from '../src/node/portico-node.js'
import { createLogger, silentLogger, type Logger } from '../src/log/logger.js'

export function newIdentity(): LocalIdentity {
  return LocalIdentity.create(nodeCrypto, new MemoryVault())
}

/** Logs go to stderr only when PORTICO_TEST_LOG is set, so failing runs can be replayed with logs. */
export function testLogger(name: string): Logger {
  return process.env.PORTICO_TEST_LOG !== undefined ? createLogger({ name, level: process.env.PORTICO_TEST_LOG }) : silentLogger
}

export async function startNode(name: string, extra: Partial<NodeOptions> = {}): Promise<PorticoNode> {
  return PorticoNode.start({
    name, identity: extra.identity ?? newIdentity(), log: testLogger(name), tcpListenerAddress: '127.0.0.1:0', ...extra
  })
}

export function routeTo(node: PorticoNode, rest: string): string {
  const [host, port] = (node.listenAddress ?? '').split(':')
  return `/ip4/${host ?? ''}/tcp/${port ?? ''}${rest}`
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const str = (b: Uint8Array): string => new TextDecoder().decode(b)

export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Starts nodes for one test file and stops them all when the file ends. */
export function nodeFactory(afterAll: (fn: () => Promise<void>) => void): (name: string, extra?: Partial<NodeOptions>) => Promise<PorticoNode> {
  const nodes: PorticoNode[] = []
  afterAll(async () => { await Promise.all(nodes.map((n) => n.stop())) })
  return async (name, extra = {}) => {
    const n = await startNode(name, extra)
    nodes.push(n)
    return n
  }
}
