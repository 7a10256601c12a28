import type { Command } from 'commander'
import { Home } from '../../node/home.js'
import { callNode } from '../../node/control-client.js'
import { parseOutput, print, type OutputFormat } from '../output.js'

export function portalCommands(program: Command): void {
  program.command('relay').description('Relays: reach a node with no inbound port open')
    .command('create').argument('<name>', 'relay name; the node\'s credential must carry relay=NAME or relay=*')
    .description('Register NAME at the project\'s relay service from a running node, and keep it registered')
    .option('--at <route>', 'relay service route (default: the node\'s project)')
    .option('--shared', 'share the name with other outlet nodes in front of the same service (each must register it shared): new channels are spread over them')
    .option('--node <name>', 'node that registers it', 'default')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (name: string, o: { at?: string; shared?: boolean; node: string; output: OutputFormat }) => {
      const r = await callNode(new Home().apiSocket(o.node), 'POST', '/relays', { name, ...(o.at !== undefined ? { at: o.at } : {}), ...(o.shared === true ? { shared: true } : {}) })
      print(o.output, r, () => `relay ${name}: registering from node ${o.node} (see \`portico node show ${o.node}\`)`)
    })

  program.command('tcp-outlet').description('The target side of a portal').command('create')
    .description('Accept portal connections that pass the policy and connect each to HOST:PORT')
    .requiredOption('--to <host:port>', 'the private service')
    .option('--from <name>', 'service name inlets address', 'outlet')
    .option('--allow <expr>', 'policy on the inlet identity (default: holds a project credential)')
    .option('--tls', 'speak TLS to the target')
    .option('--tls-ca-file <file>', 'CA certificate(s) to verify the target with (PEM)')
    .option('--tls-server-name <name>', 'name to verify in the target certificate (default: its host)')
    .option('--max-connections <n>', 'connections carried at once; more are refused (default: 10000)')
    .option('--at <node>', 'node', 'default')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (o: { to: string; from: string; allow?: string; tls?: boolean; tlsCaFile?: string; tlsServerName?: string; maxConnections?: string; at: string; output: OutputFormat }) => {
      const r = await callNode<Record<string, unknown>>(new Home().apiSocket(o.at), 'POST', '/tcp-outlets', {
        to: o.to, from: o.from, tls: o.tls === true, ...(o.allow !== undefined ? { allow: o.allow } : {}), ...(o.maxConnections !== undefined ? { 'max-connections': o.maxConnections } : {}),
        ...(o.tlsCaFile !== undefined ? { 'tls-ca-file': o.tlsCaFile } : {}), ...(o.tlsServerName !== undefined ? { 'tls-server-name': o.tlsServerName } : {})
      })
      print(o.output, r, () => `tcp outlet /service/${o.from} on node ${o.at} -> ${o.to}${o.tls === true ? ' (TLS)' : ''}`)
    })

  program.command('tcp-inlet').description('The client side of a portal').command('create')
    .description('Listen on HOST:PORT and carry each connection to an outlet through a secure channel')
    .requiredOption('--from <host:port>', 'where clients connect (a bare port means 127.0.0.1)')
    .option('--via <relay>', 'reach the outlet through this relay of the project')
    .option('--to <route>', 'or through this route, e.g. /node/db/secure/api/service/outlet')
    .option('--outlet <name>', 'outlet service name, with --via', 'outlet')
    .option('--allow <expr>', 'policy on the outlet identity (default: holds a project credential)')
    .option('--at <node>', 'node', 'default')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (o: { from: string; via?: string; to?: string; outlet: string; allow?: string; at: string; output: OutputFormat }) => {
      const r = await callNode<{ from: string; route: string }>(new Home().apiSocket(o.at), 'POST', '/tcp-inlets', {
        from: o.from, outlet: o.outlet, ...(o.via !== undefined ? { via: o.via } : {}), ...(o.to !== undefined ? { to: o.to } : {}),
        ...(o.allow !== undefined ? { allow: o.allow } : {})
      })
      print(o.output, r, () => `tcp inlet on ${r.from} -> ${r.route}`)
    })
}
