import { mkdirSync, rmSync } from 'node:fs'
import { once } from 'node:events'
import type { Logger } from 'pino'
import { nodeCrypto } from '../crypto/node-crypto.js'
import { openStore, STORE_ENV } from '../store/open-store.js'
import type { NodeConfig } from './config.js'
import type { Home } from './home.js'
import { HomeError } from './home.js'
import { nodeAnswers } from './control-client.js'
import { startControlServer } from './control-server.js'
import { NodeRuntime, type AuthorityMode } from './node-runtime.js'

export interface RunNodeOptions {
  name: string
  config: NodeConfig
  log: Logger
  signal: AbortSignal
  authority?: AuthorityMode
}

/** Runs a node in this process until `signal` aborts or the control API is told to stop. */
export async function runNode(home: Home, options: RunNodeOptions): Promise<void> {
  const existing = home.nodeRecord(options.name)
  if (existing !== undefined && existing.pid !== process.pid && await nodeAnswers(home.apiSocket(options.name))) {
    throw new HomeError(`node '${options.name}' is already running (pid ${existing.pid})`)
  }
  // A socket left by a process that died without a word (SIGKILL) holds nothing: clear it.
  rmSync(home.apiSocket(options.name), { force: true })
  const config = options.config
  // A node run in the foreground on a name that never ran (as a service manager starts it) has no folder yet.
  mkdirSync(home.nodeDir(options.name), { recursive: true, mode: 0o700 })
  const identityName = config.identity ?? existing?.identity
  const identity = home.loadIdentity(nodeCrypto, identityName)
  const store = await openStore(config.store ?? process.env[STORE_ENV] ?? `sqlite:${home.storePath(options.name)}`)
  let runtime: NodeRuntime
  try {
    runtime = await NodeRuntime.start({
      name: options.name, home, crypto: nodeCrypto, identity, config, store, log: options.log, signal: options.signal,
      ...(options.authority !== undefined ? { authority: options.authority } : {})
    })
  } catch (err) {
    await store.close()
    throw err
  }
  const node = runtime.node
  const stopped = new AbortController()
  const socket = home.apiSocket(options.name)
  home.writeNode({
    name: options.name, identity: identityName ?? home.defaultIdentityName() ?? 'default', identifier: node.identifier,
    pid: process.pid, ...(node.listenAddress !== undefined ? { tcpListenerAddress: node.listenAddress } : {}),
    ...(runtime.httpServerAddress !== undefined ? { httpServerAddress: runtime.httpServerAddress } : {}),
    ...(runtime.project !== undefined ? { project: runtime.project.name } : {}),
    ...(options.authority !== undefined ? { authority: true } : {}),
    startedAt: new Date().toISOString()
  })
  const control = await startControlServer(runtime, socket, options.log.child({ scope: 'control' }), () => stopped.abort())
  options.log.info({ socket }, 'node ready')
  const both = AbortSignal.any([options.signal, stopped.signal])
  if (!both.aborted) await once(both, 'abort')
  control.close()
  rmSync(socket, { force: true })
  await runtime.stop()
  await store.close()
}
