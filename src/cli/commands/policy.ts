import type { Command } from 'commander'
import { Home } from '../../node/home.js'
import { callNode } from '../../node/control-client.js'
import { Policy } from '../../policy/policy.js'
import { parseOutput, print, table, type OutputFormat } from '../output.js'

export function policyCommands(program: Command): void {
  const policy = program.command('policy').description('Attribute-based policies guarding the resources of a node')
  policy.command('create').description('Set the policy of a resource (echo, tcp-outlet, tcp-inlet, relay, influxdb-outlet, …)')
    .requiredOption('--resource <name>', 'resource the policy guards')
    .requiredOption('--expression <expr>', 'e.g. \'(= subject.influxdb-inlet "true")\' or \'influxdb-inlet and not beta\'')
    .option('--at <node>', 'node that holds the resource', 'default')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (o: { resource: string; expression: string; at: string; output: OutputFormat }) => {
      Policy.parse(o.expression) // refuse a bad expression here, with its position, before bothering the node
      const r = await callNode<{ resource: string; canonical: string }>(new Home().apiSocket(o.at), 'POST', '/policies', { resource: o.resource, expression: o.expression })
      print(o.output, r, () => `policy for ${r.resource} on node ${o.at}: ${r.canonical}`)
    })
  policy.command('list').description('List the policies of a node').option('--at <node>', 'node', 'default')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (o: { at: string; output: OutputFormat }) => {
      const rows = await callNode<{ resource: string; expression: string }[]>(new Home().apiSocket(o.at), 'GET', '/policies')
      print(o.output, rows, () => table(rows, ['resource', 'expression']) + '\n(resources without a policy: holders of a credential from the project authority)')
    })
  policy.command('delete').description('Remove a policy: the resource falls back to the default policy')
    .requiredOption('--resource <name>', 'resource').option('--at <node>', 'node', 'default')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (o: { resource: string; at: string; output: OutputFormat }) => {
      await callNode(new Home().apiSocket(o.at), 'DELETE', `/policies/${encodeURIComponent(o.resource)}`)
      print(o.output, { deleted: o.resource, at: o.at }, () => `policy for ${o.resource} on node ${o.at} deleted`)
    })
}
