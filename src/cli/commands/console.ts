import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { InvalidArgumentError, type Command } from 'commander'
import { pino } from 'pino'
import { nodeCrypto } from '../../crypto/node-crypto.js'
import { createLogger } from '../../log/logger.js'
import { Home } from '../../node/home.js'
import { authorityClientFor } from '../../node/membership.js'
import { PorticoNode } from '../../node/portico-node.js'
import { ConsoleNode } from '../../console/console-node.js'
import { startConsole } from '../../console/console-server.js'
import { ProjectView } from '../../console/project-view.js'
import { CliError } from '../cli-error.js'
import { parseOutput, print, type OutputFormat } from '../output.js'

/** The built page: dist/console-web, beside dist/ whether this runs from src (tsx) or dist. */
const ASSETS = fileURLToPath(new URL('../../../dist/console-web/', import.meta.url))

interface ConsoleOptions { identity?: string; project?: string; port: number; open?: boolean; outlet: string; output: OutputFormat }

const parsePort = (v: string): number => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is 0 to 65535')
  return n
}

async function runConsole(o: ConsoleOptions): Promise<void> {
  if (!existsSync(ASSETS)) throw new CliError(`the console's page is not built (${ASSETS}): run \`npm run build\``, 'not-found')
  const home = new Home()
  const project = home.project(nodeCrypto, o.project)
  if (project === undefined) throw new CliError('this home belongs to no project: enroll with a ticket or import a project file first', 'not-found')
  const identity = home.loadIdentity(nodeCrypto, o.identity)
  // Logs go to stderr: stdout is the URL, for whoever started the console.
  const log = createLogger({ name: 'console', destination: pino.destination(2), level: process.env.PORTICO_LOG_LEVEL ?? 'warn' })
  const node = await PorticoNode.start({ name: 'console', identity, log, authorities: () => [project.authority], project })
  const life = new AbortController()
  const stop = (): void => life.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    const access = new ConsoleNode(node, project, authorityClientFor(node, project), o.outlet, log)
    const view = new ProjectView({ client: access.authority, leases: (relay, signal) => access.outletLeases(relay, signal), log })
    await view.refresh(life.signal)
    if (view.snapshot.status === undefined) throw new CliError(`the console cannot read project ${project.name}: ${view.snapshot.error ?? 'no answer'}`, 'refused')
    const running = await startConsole({ port: o.port, view, actions: access.actions(), assets: ASSETS, log })
    void view.run(life.signal)
    print(o.output, { url: running.url, port: running.port }, () => `open ${running.url}`)
    if (o.open === true) spawn('xdg-open', [running.url], { stdio: 'ignore', detached: true }).on('error', () => undefined).unref()
    if (!life.signal.aborted) await once(life.signal, 'abort')
    await running.close()
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await node.stop()
  }
}

export function consoleCommands(program: Command): void {
  program.command('console').description('A web console of the project on 127.0.0.1, acting as your identity: members, tickets, relays, leases, live events')
    .option('--identity <name>', 'identity the console acts as (default: the default identity)')
    .option('--project <name>', 'project (default: the default project)')
    .option('--port <n>', 'port on 127.0.0.1 (0 picks a free one)', parsePort, 0)
    .option('--outlet <name>', 'name of the influxdb outlets behind the relays, for the leases page', 'influxdb-outlet')
    .option('--open', 'open the page in the desktop\'s browser')
    .option('--output <format>', 'plain or json (the link and the port, then it serves until interrupted)', parseOutput, 'plain')
    .action((o: ConsoleOptions) => runConsole(o))
}
