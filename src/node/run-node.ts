import { rmSync } from 'node:fs'
import { once } from 'node:events'
import type { Logger } from 'pino'
import { nodeCrypto } from '../crypto/node-crypto.js'
import type { Home} from './home.js';
import { isRunning, HomeError } from './home.js'
import { PorticoNode } from './portico-node.js'
import { startControlServer } from './control-server.js'

export interface RunNodeOptions {
  name: string
  identityName?: string
  tcpListenerAddress?: string
  log: Logger
  signal: AbortSignal
}

/** `/node/NAME`: the TCP listener of a node recorded in this home. */
export function nodeResolver(home: Home): (name: string) => string {
  return (name) => {
    const record = home.nodeRecord(name)
    if (record?.tcpListenerAddress === undefined) throw new HomeError(`node '${name}' has no TCP listener on record`)
    return record.tcpListenerAddress
  }
}

/** Runs a node in this process until `signal` aborts or the control API is told to stop. */
export async function runNode(home: Home, options: RunNodeOptions): Promise<void> {
  const existing = home.nodeRecord(options.name)
  if (existing !== undefined && existing.pid !== process.pid && isRunning(existing.pid)) {
    throw new HomeError(`node '${options.name}' is already running (pid ${existing.pid})`)
  }
  const identityName = options.identityName ?? existing?.identity
  const identity = home.loadIdentity(nodeCrypto, identityName)
  const node = await PorticoNode.start({
    name: options.name, identity, log: options.log,
    ...(options.tcpListenerAddress !== undefined ? { tcpListenerAddress: options.tcpListenerAddress } : {}),
    resolveNode: nodeResolver(home), signal: options.signal
  })
  const stopped = new AbortController()
  const socket = home.apiSocket(options.name)
  home.writeNode({
    name: options.name, identity: identityName ?? home.defaultIdentityName() ?? 'default', identifier: node.identifier,
    pid: process.pid, ...(node.listenAddress !== undefined ? { tcpListenerAddress: node.listenAddress } : {}),
    startedAt: new Date().toISOString()
  })
  const control = await startControlServer(node, socket, options.log.child({ scope: 'control' }), () => stopped.abort())
  options.log.info({ socket }, 'node ready')
  const both = AbortSignal.any([options.signal, stopped.signal])
  if (!both.aborted) await once(both, 'abort')
  control.close()
  rmSync(socket, { force: true })
  await node.stop()
}
