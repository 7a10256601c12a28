import { CliError } from '../cli-error.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { Option, type Command } from 'commander'
import { readNodeConfig, type NodeConfig } from '../../node/config.js'
import { createReadStream, existsSync, mkdirSync, statSync, watch } from 'node:fs'
import { resolve } from 'node:path'
import { loadLaunch, saveLaunch } from '../launch-record.js'
import { createAuthority } from './project.js'
import { Home } from '../../node/home.js'
import { callNode, nodeAnswers } from '../../node/control-client.js'
import { details, parseOutput, print, table, type OutputFormat } from '../output.js'
import { readLaunchSecrets, runForeground, startBackground, START_TIMEOUT_MS, TICKET_ENV } from '../node-process.js'

interface CreateOptions {
  config?: string; configuration?: string; enrollmentTicket?: string; tcpListenerAddress?: string; httpServerPort?: string
  identity?: string; store?: string; project?: string; foreground?: boolean; secretsStdin?: boolean; output: 'plain' | 'json'
}

/** Command-line flags win over the config file. */
function effectiveConfig(o: CreateOptions): NodeConfig {
  const config = readNodeConfig({
    ...(o.config !== undefined ? { file: o.config } : {}), ...(o.configuration !== undefined ? { text: o.configuration } : {})
  })
  const ticket = o.enrollmentTicket ?? process.env[TICKET_ENV]
  return {
    ...config,
    ...(ticket !== undefined ? { ticket } : {}),
    ...(o.tcpListenerAddress !== undefined ? { 'tcp-listener-address': o.tcpListenerAddress } : {}),
    ...(o.httpServerPort !== undefined ? { 'http-server-port': Number(o.httpServerPort) } : {}),
    ...(o.identity !== undefined ? { identity: o.identity } : {}),
    ...(o.store !== undefined ? { store: o.store } : {}),
    ...(o.project !== undefined ? { project: o.project } : {})
  }
}

/** Asks a running node to stop and waits until its control socket no longer answers. */
export async function stopNode(home: Home, name: string): Promise<void> {
  const socket = home.apiSocket(name)
  if (!await nodeAnswers(socket)) throw new CliError(`node '${name}' is not running`, 'unavailable')
  await callNode(socket, 'POST', '/stop')
  const deadline = Date.now() + START_TIMEOUT_MS
  while (await nodeAnswers(socket)) {
    if (Date.now() > deadline) throw new CliError(`node '${name}' did not stop within ${START_TIMEOUT_MS / 1000} s`, 'unavailable')
    await sleep(50)
  }
}

/** Prints a node's log; with `follow`, goes on printing what it adds until interrupted. */
async function printLog(file: string, follow: boolean): Promise<void> {
  if (!existsSync(file)) throw new CliError(`no log at ${file}`, 'not-found')
  let at = 0
  const more = async (): Promise<void> => {
    const size = statSync(file).size
    if (size < at) at = 0
    if (size === at) return
    const stream = createReadStream(file, { start: at, end: size - 1 })
    stream.pipe(process.stdout, { end: false })
    await new Promise<void>((r) => stream.on('end', () => r()))
    at = size
  }
  await more()
  if (!follow) return
  let busy = Promise.resolve()
  watch(file, () => { busy = busy.then(more) })
  await new Promise(() => undefined)
}

/** `node create`, and `node start` with what was recorded at create. */
async function createNode(nameArg: string | undefined, o: CreateOptions): Promise<void> {
  const home = new Home()
  if (o.secretsStdin === true) {
    const s = await readLaunchSecrets()
    o = { ...o, ...(s.configuration !== undefined ? { configuration: s.configuration } : {}), ...(s.ticket !== undefined ? { enrollmentTicket: s.ticket } : {}), ...(s.store !== undefined ? { store: s.store } : {}) }
  }
  const config = effectiveConfig(o)
  const name = nameArg ?? config.name ?? 'default'
  // What `node start` needs to bring the node back as it was (not from the background child,
  // which was started from a record or a create already).
  if (o.secretsStdin !== true) recordLaunch(home, name, o)
  if (o.foreground === true) {
    await runForeground(home, { name, config })
    return
  }
  // Nothing that may be secret goes on the command line: the configuration text, the ticket
  // and the store URL go through a pipe.
  const args = ['node', 'create', name,
    ...(o.config !== undefined ? ['--config', o.config] : []),
    ...(o.tcpListenerAddress !== undefined ? ['--tcp-listener-address', o.tcpListenerAddress] : []),
    ...(o.httpServerPort !== undefined ? ['--http-server-port', o.httpServerPort] : []),
    ...(o.identity !== undefined ? ['--identity', o.identity] : []),
    ...(o.project !== undefined ? ['--project', o.project] : [])]
  const r = await startBackground(home, name, args, {
    ...(o.configuration !== undefined ? { configuration: o.configuration } : {}), ...(config.ticket !== undefined ? { ticket: config.ticket } : {}),
    ...(o.store !== undefined ? { store: o.store } : {})
  })
  print(o.output, r, () => `node ${name} started (pid ${r?.pid ?? '?'}${r?.tcpListenerAddress !== undefined ? `, tcp ${r.tcpListenerAddress}` : ''}${r?.httpServerAddress !== undefined ? `, http ${r.httpServerAddress}` : ''})`)
}

/** Writes the node's launch record; says on stderr which variables `node start` will need. */
function recordLaunch(home: Home, name: string, o: CreateOptions): void {
  mkdirSync(home.nodeDir(name), { recursive: true, mode: 0o700 })
  const needed = saveLaunch(home, name, {
    ...(o.config !== undefined ? { config: resolve(o.config) } : {}), ...(o.configuration !== undefined ? { configuration: o.configuration } : {}),
    ...(o.tcpListenerAddress !== undefined ? { tcpListenerAddress: o.tcpListenerAddress } : {}), ...(o.httpServerPort !== undefined ? { httpServerPort: o.httpServerPort } : {}),
    ...(o.identity !== undefined ? { identity: o.identity } : {}), ...(o.project !== undefined ? { project: o.project } : {}), ...(o.store !== undefined ? { store: o.store } : {})
  })
  if (needed.length > 0) process.stderr.write(`note: secrets given inline are not recorded; \`node start ${name}\` will read them from ${needed.map((v) => `$${v}`).join(', ')}\n`)
}

export function nodeCommands(program: Command): void {
  const node = program.command('node').description('Run and manage Portico nodes')

  node.command('create').argument('[name]', 'node name (default: the config\'s name, else "default")')
    .description('Start a node (in the background unless --foreground)')
    .option('--config <file>', 'node configuration file, JSON or YAML')
    .option('--configuration <text>', 'node configuration given inline, JSON or YAML')
    .option('--enrollment-ticket <ticket>', `enroll with this ticket first (or set ${TICKET_ENV})`)
    .option('--tcp-listener-address <addr>', 'listen for TCP routes on HOST:PORT (port 0 picks one)')
    .option('--http-server-port <port>', 'serve /healthz /readyz /show /metrics on 127.0.0.1:PORT')
    .option('--identity <name>', 'identity the node runs as (default: the default identity)')
    .option('--project <name>', 'project to join (default: the default project, if any)')
    .option('--store <url>', 'sqlite:PATH or postgres://… (default: $PORTICO_STORE, else SQLite in the node folder)')
    .option('--foreground', 'run in this process, logging to stdout, until interrupted')
    .addOption(new Option('--secrets-stdin', 'read the inline configuration, ticket and store from standard input (used by background starts)').hideHelp())
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(createNode)

  node.command('start').argument('[name]', 'node name', 'default')
    .description('Start a stopped or crashed node as it was created (its recorded configuration; secrets from the environment)')
    .option('--foreground', 'run in this process, logging to stdout, until interrupted (for service managers)')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (name: string, o: { foreground?: boolean; output: 'plain' | 'json' }) => {
      const launch = loadLaunch(new Home(), name)
      if (launch.authority !== undefined && launch.tcpListenerAddress !== undefined) {
        // A project node: started as `authority create` started it, the store URL from $PORTICO_STORE when it held a password.
        const { authority, tcpListenerAddress, project, identity, store, httpServerPort } = launch
        await createAuthority(name, {
          tcpListenerAddress, project: project ?? 'default', credentialTtl: authority.credentialTtl, output: o.output,
          ...(authority.publicRoute !== undefined ? { publicRoute: authority.publicRoute } : {}), ...(identity !== undefined ? { identity } : {}), ...(authority.replica === true ? { replica: true } : {}),
          ...(store !== undefined ? { store } : {}), ...(httpServerPort !== undefined ? { httpServerPort } : {}), ...(o.foreground === true ? { foreground: true } : {})
        })
        return
      }
      const { authority: _unused, ...nodeLaunch } = launch
      const recorded = Object.fromEntries(Object.entries(nodeLaunch).filter(([, v]) => v !== undefined)) as Partial<CreateOptions>
      await createNode(name, { ...recorded, ...(o.foreground === true ? { foreground: true } : {}), output: o.output })
    })

  node.command('list').description('List nodes in $PORTICO_HOME')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (o: { output: 'plain' | 'json' }) => {
      const home = new Home()
      const rows = await Promise.all(home.listNodes().map(async (n) => {
        const r = home.nodeRecord(n)
        return { name: n, status: await nodeAnswers(home.apiSocket(n)) ? 'running' : 'stopped', pid: r?.pid, tcp: r?.tcpListenerAddress, http: r?.httpServerAddress, project: r?.project, identifier: r?.identifier }
      }))
      print(o.output, rows, () => table(rows, ['name', 'status', 'pid', 'tcp', 'http', 'project', 'identifier']))
    })

  node.command('show').argument('[name]', 'node name', 'default').description('Show a running node: identity, project, credential, policies, channels')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (name: string, o: { output: 'plain' | 'json' }) => {
      const info = await callNode<Record<string, unknown>>(new Home().apiSocket(name), 'GET', '/show')
      print(o.output, info, () => details(info))
    })

  node.command('stop').argument('[name]', 'node name', 'default').description('Stop a background node')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (name: string, o: { output: OutputFormat }) => {
      await stopNode(new Home(), name)
      print(o.output, { stopped: name }, () => `node ${name} stopped`)
    })

  node.command('logs').argument('[name]', 'node name', 'default').description('Print a node\'s log (JSON lines); --follow goes on printing as it grows')
    .option('--follow', 'keep printing what the node logs, until interrupted')
    .action(async (name: string, o: { follow?: boolean }) => {
      await printLog(new Home().logFile(name), o.follow === true)
    })

  node.command('delete').argument('<name>', 'node name').description('Stop a node if running and delete its state')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (name: string, o: { output: OutputFormat }) => {
      const home = new Home()
      if (!home.listNodes().includes(name)) throw new CliError(`no node named '${name}'`, 'not-found')
      if (await nodeAnswers(home.apiSocket(name))) await stopNode(home, name)
      home.deleteNode(name)
      print(o.output, { deleted: name }, () => `node ${name} deleted`)
    })
}
