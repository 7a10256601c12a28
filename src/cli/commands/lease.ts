import { CliError } from '../cli-error.js'
import { step } from '../progress.js'
import type { Command } from 'commander'
import { Home } from '../../node/home.js'
import { callNode } from '../../node/control-client.js'
import { LeaseClient, leaseServiceAddress } from '../../influxdb/leases/lease-service.js'
import { outletTarget } from '../../node/inlet-route.js'
import { outletFailure } from '../../node/outlet-channel.js'
import type { RouteStep } from '../../node/portico-node.js'
import { local, type Route } from '../../routing/address.js'
import { details, parseOutput, print, table, type OutputFormat } from '../output.js'
import { withAuthority } from '../project-client.js'

interface LeaseOptions { at?: string; via?: string; outlet: string; identity?: string; project?: string; output: OutputFormat }

const withLeases = <T>(o: LeaseOptions, fn: (c: LeaseClient) => Promise<T>): Promise<T> => withAuthority(new Home(), o, async (authority, node, project) => {
  // A person is a member like any device: present a fresh credential, then talk to the lease manager.
  const credential = await authority.credential()
  node.context.credentials = () => [credential]
  const at = o.at
  if (at === undefined && o.via === undefined) throw new CliError('say where the lease manager is: --via RELAY (and --outlet NAME) or --at ROUTE', 'bad-input')
  const target = at === undefined ? outletTarget({ via: o.via, outlet: o.outlet }, project) : undefined
  let route: Route | undefined
  const open = async (): Promise<Route> => {
    if (target === undefined) return node.resolve(at ?? '')
    let hop: RouteStep | undefined
    try {
      return await step(`reaching the lease manager '${target.outlet}' through relay '${target.relay ?? ''}'`, async () =>
        [...await node.resolve(target.channel, { onStep: (s) => { hop = s } }), local(leaseServiceAddress(target.outlet))])
    } catch (err) {
      // Which hop failed, in words: the relay not registered, the project node refusing us, the outlet silent.
      throw outletFailure(target, hop, err)
    }
  }
  return fn(new LeaseClient(node.router, async () => { route ??= await open(); return route }))
})

export function leaseCommands(program: Command): void {
  const lease = program.command('lease').description('InfluxDB leases for people: a time-limited token of your own')
  const common = (c: Command): Command => c
    .option('--via <relay>', 'reach the lease manager through this relay')
    .option('--outlet <name>', 'influxdb outlet name', 'influxdb-outlet')
    .option('--at <route>', 'or the lease manager\'s full route')
    .option('--identity <name>', 'identity to ask as')
    .option('--project <name>', 'project')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
  common(lease.command('create').description('Issue a lease and print its token, id and expiry')).action(async (o: LeaseOptions) => {
    const g = await withLeases(o, (c) => c.create())
    const out = { id: g.id, token: g.token, authorization: g.authorization, expiresAt: new Date(g.expiresAt).toISOString(), backend: g.backend }
    print(o.output, out, () => `token:      ${g.token}\nid:         ${g.id}\nexpires at: ${out.expiresAt}\nheader:     Authorization: ${g.authorization}`)
  })
  common(lease.command('list').description('Your active leases (never their secrets); with --all, every holder\'s (lease admins of the outlet only)'))
    .option('--all', 'every holder\'s leases: for the outlet\'s lease admins (its admin-allow policy)')
    .action(async (o: LeaseOptions & { all?: boolean }) => {
      const rows = await withLeases(o, (c) => c.list(undefined, o.all === true))
      print(o.output, rows, () => table(rows.map((r) => ({ ...r })), o.all === true ? ['id', 'identifier', 'backend', 'createdAt', 'expiresAt'] : ['id', 'backend', 'createdAt', 'expiresAt']))
    })
  common(lease.command('show').argument('<id>', 'lease id').description('One of your leases')).action(async (id: string, o: LeaseOptions) => {
    const v = await withLeases(o, (c) => c.show(id))
    print(o.output, v, () => details(v))
  })
  common(lease.command('revoke').argument('[id]', 'lease id').description('Revoke one of your leases now; with --holder, every lease of that identity (lease admins of the outlet only)'))
    .option('--holder <identifier>', 'revoke every lease this identity holds at the outlet (lease admins only)')
    .action(async (id: string | undefined, o: LeaseOptions & { holder?: string }) => {
      if ((id === undefined) === (o.holder === undefined)) throw new CliError('give a lease id, or --holder IDENTIFIER (not both)', 'bad-input')
      if (o.holder !== undefined) {
        const holder = o.holder
        const n = await withLeases(o, (c) => c.revokeIdentity(holder))
        print(o.output, { holder, revoked: n }, () => `${n} lease${n === 1 ? '' : 's'} of ${holder} revoked (the outlet ends them within its sweep)`)
        return
      }
      await withLeases(o, (c) => c.revoke(id ?? ''))
      print(o.output, { revoked: id }, () => `lease ${id ?? ''} revoked`)
    })

  const jsonBody = (text: string): unknown => JSON.parse(text) as unknown
  program.command('influxdb-outlet').description('An outlet to InfluxDB with a lease manager').command('create')
    .description('Give it JSON with the keys of the influxdb-outlet config section')
    .requiredOption('--configuration <json>', 'e.g. {"to":"127.0.0.1:8086","api":"v1",…}', jsonBody)
    .option('--at <node>', 'node', 'default').option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (o: { configuration: unknown; at: string; output: OutputFormat }) => {
      const r = await callNode<Record<string, unknown>>(new Home().apiSocket(o.at), 'POST', '/influxdb-outlets', o.configuration)
      print(o.output, r, () => `influxdb outlet on node ${o.at}: ${JSON.stringify(r)}`)
    })
  program.command('influxdb-inlet').description('A token-injecting HTTP inlet to an InfluxDB outlet').command('create')
    .requiredOption('--from <host:port>', 'where clients connect (a bare port means 127.0.0.1)')
    .option('--via <relay>', 'through this relay').option('--to <route>', 'or this route')
    .option('--outlet <name>', 'influxdb outlet name', 'influxdb-outlet').option('--allow <expr>', 'policy on the outlet identity')
    .option('--leased-token-strategy <s>', 'shared (one lease for this inlet) or per-client (one per client address)', 'shared')
    .option('--at <node>', 'node', 'default').option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (o: { from: string; via?: string; to?: string; outlet: string; allow?: string; leasedTokenStrategy: string; at: string; output: OutputFormat }) => {
      const r = await callNode<{ from: string; route: string }>(new Home().apiSocket(o.at), 'POST', '/influxdb-inlets', {
        from: o.from, outlet: o.outlet, 'leased-token-strategy': o.leasedTokenStrategy,
        ...(o.via !== undefined ? { via: o.via } : {}), ...(o.to !== undefined ? { to: o.to } : {}), ...(o.allow !== undefined ? { allow: o.allow } : {})
      })
      print(o.output, r, () => `influxdb inlet on ${r.from} -> ${r.route}`)
    })
}
