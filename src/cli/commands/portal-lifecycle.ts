import type { Command } from 'commander'
import { Home } from '../../node/home.js'
import { callNode } from '../../node/control-client.js'
import { PORTAL_KINDS, type PortalKind } from '../../node/portals.js'
import { CliError } from '../cli-error.js'
import { details, parseOutput, print, table, type OutputFormat } from '../output.js'

/** How each kind is named in a listing (an inlet by its listening address), and the columns shown. */
const KEY: Readonly<Record<PortalKind, string>> = { 'tcp-outlet': 'address', 'tcp-inlet': 'from', 'influxdb-outlet': 'name', 'influxdb-inlet': 'from', relay: 'name' }
const COLUMNS: Readonly<Record<PortalKind, string[]>> = {
  'tcp-outlet': ['address', 'to', 'tls', 'connections', 'accepted', 'refused'],
  'tcp-inlet': ['from', 'route', 'connections', 'accepted', 'failed', 'lastError'],
  'influxdb-outlet': ['name', 'api', 'issued', 'revoked', 'issueFailures', 'revokeFailures'],
  'influxdb-inlet': ['from', 'route', 'requests', 'refused', 'upstreamErrors'],
  relay: ['name', 'registered', 'registrations', 'lastError']
}

interface NodeOption { at?: string; node?: string; output: OutputFormat }

/** `list`, `show NAME` and `delete NAME` under each portal command and `relay`, next to their `create`. */
export function portalLifecycleCommands(program: Command): void {
  for (const kind of PORTAL_KINDS) {
    const parent = program.commands.find((c) => c.name() === kind)
    if (parent === undefined) continue
    // `relay create` takes --at for the relay service's route, so its node is --node.
    const nodeFlag = kind === 'relay' ? 'node' : 'at'
    const socket = (o: NodeOption): string => new Home().apiSocket((kind === 'relay' ? o.node : o.at) ?? 'default')
    const withNode = (c: Command): Command => c.option(`--${nodeFlag} <node>`, 'node', 'default').option('--output <format>', 'plain or json', parseOutput, 'plain')
    const what = kind === 'relay' ? 'relays this node registers' : `${kind}s of a node`
    const list = (o: NodeOption): Promise<Record<string, unknown>[]> => callNode<Record<string, unknown>[]>(socket(o), 'GET', `/${kind}s`)
    const name = kind === 'tcp-inlet' || kind === 'influxdb-inlet' ? '<address>' : '<name>'

    withNode(parent.command('list').description(`The ${what}`)).action(async (o: NodeOption) => {
      const rows = await list(o)
      print(o.output, rows, () => table(rows, COLUMNS[kind]))
    })
    withNode(parent.command('show').argument(name, `the ${kind}'s ${name.slice(1, -1)}`).description(`One of the ${what}`)).action(async (n: string, o: NodeOption) => {
      const found = (await list(o)).find((r) => r[KEY[kind]] === n)
      if (found === undefined) throw new CliError(`no ${kind} ${n} on this node (see \`portico ${kind} list\`)`, 'not-found')
      print(o.output, found, () => details(found))
    })
    withNode(parent.command('delete').argument(name, `the ${kind}'s ${name.slice(1, -1)}`).description(`Delete one of the ${what} now (its configuration, if it came from one, brings it back at the next start)`))
      .action(async (n: string, o: NodeOption) => {
        const r = await callNode(socket(o), 'DELETE', `/${kind}s/${encodeURIComponent(n)}`)
        print(o.output, r, () => `${kind} ${n} deleted`)
      })
  }
}
