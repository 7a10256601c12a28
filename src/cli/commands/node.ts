import { spawn } from 'node:child_process'
import { openSync, existsSync, mkdirSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Command } from 'commander'
import { createLogger } from '../../log/logger.js'
import { Home, isRunning } from '../../node/home.js'
import { runNode } from '../../node/run-node.js'
import { callNode } from '../../node/control-client.js'
import { parseOutput, print, table } from '../output.js'

const START_TIMEOUT_MS = 15_000

interface CreateOptions { tcpListenerAddress?: string; identity?: string; foreground?: boolean; output: 'plain' | 'json' }

export function nodeCommands(program: Command): void {
  const node = program.command('node').description('Run and manage Portico nodes')

  node.command('create').argument('[name]', 'node name', 'default')
    .description('Start a node (in the background unless --foreground)')
    .option('--tcp-listener-address <addr>', 'listen for TCP routes on HOST:PORT (port 0 picks one)')
    .option('--identity <name>', 'identity the node runs as (default: the default identity)')
    .option('--foreground', 'run in this process, logging to stdout, until interrupted')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (name: string, o: CreateOptions) => {
      const home = new Home()
      if (o.foreground === true) {
        const controller = new AbortController()
        process.once('SIGINT', () => controller.abort())
        process.once('SIGTERM', () => controller.abort())
        await runNode(home, {
          name, log: createLogger({ name }), signal: controller.signal,
          ...(o.identity !== undefined ? { identityName: o.identity } : {}),
          ...(o.tcpListenerAddress !== undefined ? { tcpListenerAddress: o.tcpListenerAddress } : {})
        })
        return
      }
      mkdirSync(home.nodeDir(name), { recursive: true, mode: 0o700 })
      const args = [process.argv[1] ?? '', 'node', 'create', name, '--foreground',
        ...(o.tcpListenerAddress !== undefined ? ['--tcp-listener-address', o.tcpListenerAddress] : []),
        ...(o.identity !== undefined ? ['--identity', o.identity] : [])]
      const log = openSync(home.logFile(name), 'a', 0o600)
      const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env: process.env })
      child.unref()
      const deadline = Date.now() + START_TIMEOUT_MS
      while (!(existsSync(home.apiSocket(name)) && home.nodeRecord(name)?.pid === child.pid)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`node '${name}' did not start; see ${home.logFile(name)}`)
        await sleep(50)
      }
      const r = home.nodeRecord(name)
      print(o.output, r, () => `node ${name} started (pid ${child.pid ?? '?'}${r?.tcpListenerAddress !== undefined ? `, tcp ${r.tcpListenerAddress}` : ''})`)
    })

  node.command('list').description('List nodes in $PORTICO_HOME')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action((o: { output: 'plain' | 'json' }) => {
      const home = new Home()
      const rows = home.listNodes().map((n) => {
        const r = home.nodeRecord(n)
        return { name: n, status: r !== undefined && r.pid > 0 && isRunning(r.pid) ? 'running' : 'stopped', pid: r?.pid, tcp: r?.tcpListenerAddress, identifier: r?.identifier }
      })
      print(o.output, rows, () => table(rows, ['name', 'status', 'pid', 'tcp', 'identifier']))
    })

  node.command('show').argument('[name]', 'node name', 'default').description('Show a running node: identity, listeners, channels, workers')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (name: string, o: { output: 'plain' | 'json' }) => {
      const info = await callNode<Record<string, unknown>>(new Home().apiSocket(name), 'GET', '/show')
      print(o.output, info, () => JSON.stringify(info, null, 2))
    })

  node.command('stop').argument('[name]', 'node name', 'default').description('Stop a background node')
    .action(async (name: string) => {
      const home = new Home()
      await callNode(home.apiSocket(name), 'POST', '/stop')
      const pid = home.nodeRecord(name)?.pid ?? -1
      const deadline = Date.now() + START_TIMEOUT_MS
      while (pid > 0 && isRunning(pid) && Date.now() < deadline) await sleep(50)
      console.log(`node ${name} stopped`)
    })

  node.command('delete').argument('<name>', 'node name').description('Stop a node if running and delete its state')
    .action(async (name: string) => {
      const home = new Home()
      const r = home.nodeRecord(name)
      if (r !== undefined && r.pid > 0 && isRunning(r.pid)) {
        await callNode(home.apiSocket(name), 'POST', '/stop').catch(() => process.kill(r.pid, 'SIGTERM'))
        const deadline = Date.now() + START_TIMEOUT_MS
        while (isRunning(r.pid) && Date.now() < deadline) await sleep(50)
      }
      home.deleteNode(name)
      console.log(`node ${name} deleted`)
    })
}
