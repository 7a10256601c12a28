import { CliError } from '../cli-error.js'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { nodeCrypto } from '../../crypto/node-crypto.js'
import { projectFromFile, projectToFile } from '../../authority/project.js'
import { decodeTicket } from '../../authority/ticket.js'
import { importIdentity } from '../../identity/identity.js'
import { parseDuration } from '../../encoding/duration.js'
import { Home } from '../../node/home.js'
import { details, parseOutput, print, table, type OutputFormat } from '../output.js'
import { withAuthority } from '../project-client.js'
import { readLaunchSecrets, runForeground, startBackground } from '../node-process.js'
import { saveLaunch } from '../launch-record.js'
import { STORE_ENV } from '../../store/open-store.js'

const collect = (value: string, previous: string[]): string[] => [...previous, value]

function parseAttributes(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const p of pairs) {
    const i = p.indexOf('=')
    if (i <= 0) throw new InvalidArgumentError(`--attribute takes KEY=VALUE, not '${p}'`)
    out[p.slice(0, i)] = p.slice(i + 1)
  }
  return out
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString()

export interface AuthorityOptions {
  secretsStdin?: boolean; tcpListenerAddress: string; store?: string; project: string; identity?: string; publicRoute?: string; credentialTtl: string
  httpServerPort?: string; foreground?: boolean; output: OutputFormat
  /** A project file: this node is another replica of that project, on its PostgreSQL store. */
  replicaOf?: string
  /** Started again as a replica of `project` (already imported). */
  replica?: boolean
}

/** A replica runs as the project's authority identity, which this home must hold (`identity import`). */
function replicaIdentity(home: Home, o: AuthorityOptions): { project: string; identity: string } {
  const project = o.replicaOf !== undefined ? projectFromFile(nodeCrypto, JSON.parse(readFileSync(o.replicaOf, 'utf8'))) : home.project(nodeCrypto, o.project)
  if (project === undefined) throw new CliError(`no project '${o.project}' in this home: give --replica-of PROJECT_FILE`, 'not-found')
  const store = o.store ?? process.env[STORE_ENV]
  if (store === undefined || !/^postgres(ql)?:\/\//.test(store)) throw new CliError('replicas of a project share its PostgreSQL store: give --store postgres://… (or $PORTICO_STORE)', 'bad-input')
  const identity = home.identityByIdentifier(project.authority.identifier)
  if (identity === undefined) {
    throw new CliError(`this home holds no key of the authority ${project.authority.identifier}: on the first project node run \`portico identity export NAME --with-secret --file F\`, then here \`portico identity import F\``, 'not-found')
  }
  if (o.replicaOf !== undefined) home.saveProject(project, true)
  return { project: project.name, identity: identity.name }
}

/** `authority create`, and `node start` of a project node: starts it, and records how (no secret) for `node start`. */
export async function createAuthority(name: string, o: AuthorityOptions): Promise<void> {
  const home = new Home()
  if (o.secretsStdin === true) {
    const s = await readLaunchSecrets()
    if (s.store !== undefined) o = { ...o, store: s.store }
  }
  const replica = o.replicaOf !== undefined || o.replica === true ? replicaIdentity(home, o) : undefined
  if (replica !== undefined) o = { ...o, project: replica.project }
  const admin = replica === undefined ? home.loadIdentity(nodeCrypto, o.identity).identifier : undefined
  if (replica === undefined && !home.listIdentities().some((i) => i.name === name)) home.createIdentity(nodeCrypto, name)
  const config = {
    identity: replica?.identity ?? name, 'tcp-listener-address': o.tcpListenerAddress,
    ...(o.store !== undefined ? { store: o.store } : {}), ...(o.httpServerPort !== undefined ? { 'http-server-port': Number(o.httpServerPort) } : {})
  }
  const authority = {
    projectName: o.project, credentialTtlSeconds: parseDuration(o.credentialTtl), ...(admin !== undefined ? { admin } : { replica: true }),
    ...(o.publicRoute !== undefined ? { publicRoute: o.publicRoute } : {})
  }
  if (o.secretsStdin !== true) {
    mkdirSync(home.nodeDir(name), { recursive: true, mode: 0o700 })
    saveLaunch(home, name, {
      tcpListenerAddress: o.tcpListenerAddress, project: o.project,
      authority: { credentialTtl: o.credentialTtl, ...(o.publicRoute !== undefined ? { publicRoute: o.publicRoute } : {}), ...(replica !== undefined ? { replica: true } : {}) },
      ...(o.identity !== undefined ? { identity: o.identity } : {}), ...(o.store !== undefined ? { store: o.store } : {}), ...(o.httpServerPort !== undefined ? { httpServerPort: o.httpServerPort } : {})
    })
  }
  if (o.foreground === true) {
    await runForeground(home, { name, config, authority })
    return
  }
  const args = ['authority', 'create', name, '--tcp-listener-address', o.tcpListenerAddress, '--project', o.project, '--credential-ttl', o.credentialTtl,
    ...(replica !== undefined ? ['--replica'] : []),
    ...(o.identity !== undefined ? ['--identity', o.identity] : []),
    ...(o.publicRoute !== undefined ? ['--public-route', o.publicRoute] : []), ...(o.httpServerPort !== undefined ? ['--http-server-port', o.httpServerPort] : [])]
  const r = await startBackground(home, name, args, o.store !== undefined ? { store: o.store } : {})
  if (admin === undefined) print(o.output, { ...r, replica: true }, () => `project ${o.project}: replica ${name} of authority ${r?.identifier ?? '?'} at ${r?.tcpListenerAddress ?? '?'}`)
  else print(o.output, { ...r, admin }, () => `project ${o.project}: authority ${r?.identifier ?? '?'} at ${r?.tcpListenerAddress ?? '?'}, first admin ${admin}`)
}

export function projectCommands(program: Command): void {
  program.command('authority').description('Run the project node: the authority, tickets and members')
    .command('create').argument('[name]', 'node name (also the name of the authority identity)', 'authority')
    .description('Start the project node; the identity that runs this command becomes its first admin')
    .requiredOption('--tcp-listener-address <addr>', 'HOST:PORT where members reach the project')
    .option('--store <url>', 'sqlite:PATH or postgres://… (default: $PORTICO_STORE, else SQLite in the node folder)')
    .option('--project <name>', 'project name', 'default')
    .option('--identity <name>', 'the first admin (default: the default identity)')
    .option('--public-route <multiaddr>', 'route that members use, when not the listener address (e.g. /dnsaddr/project.example.com/tcp/4000)')
    .option('--credential-ttl <duration>', 'life of the credentials the authority signs', '1h')
    .option('--http-server-port <port>', 'serve /healthz /readyz /show /metrics on 127.0.0.1:PORT')
    .option('--replica-of <project-file>', 'start another replica of that project, on its PostgreSQL store, as its authority identity (imported with `identity import`)')
    .addOption(new Option('--replica', 'start again as a replica of --project (used by background starts and `node start`)').hideHelp())
    .option('--foreground', 'run in this process until interrupted')
    .addOption(new Option('--secrets-stdin', 'read the store URL from standard input (used by background starts)').hideHelp())
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action((name: string, o: AuthorityOptions) => createAuthority(name, o))

  const project = program.command('project').description('Project files: the authority identity and route that nodes trust')
  project.command('export').description('Write the project file (no secrets in it)')
    .option('--project <name>', 'project (default: the default project)')
    .option('--file <path>', 'write to this file instead of stdout')
    .action((o: { project?: string; file?: string }) => {
      const p = new Home().project(nodeCrypto, o.project)
      if (p === undefined) throw new CliError('this home belongs to no project', 'not-found')
      const text = JSON.stringify(projectToFile(p), null, 2) + '\n'
      if (o.file !== undefined) writeFileSync(o.file, text)
      else process.stdout.write(text)
    })
  project.command('import').argument('<file>', 'project file from `portico project export`').description('Trust a project and make it the default')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action((file: string, o: { output: OutputFormat }) => {
      const p = projectFromFile(nodeCrypto, JSON.parse(readFileSync(file, 'utf8')))
      new Home().saveProject(p, true)
      print(o.output, { imported: p.name, authority: p.authority.identifier, route: p.route }, () => `project ${p.name} imported (authority ${p.authority.identifier}, route ${p.route})`)
    })

  const ticket = program.command('ticket').description('Enrollment tickets')
  ticket.command('create')
    .description('Print a one-time enrollment ticket (admins and enrollers only)')
    .option('--attribute <key=value>', 'attribute the redeemer gets (repeatable)', collect, [])
    .option('--relay <name>', 'allow the redeemer to register this relay name (sets the relay attribute)')
    .option('--expires-in <duration>', 'how long the ticket can be redeemed', '10m')
    .option('--usage-count <n>', 'how many identities may redeem it', '1')
    .option('--enroller', 'the redeemer may create tickets itself (admins only)')
    .option('--may-grant <pattern>', 'with --enroller: an attribute the enroller\'s tickets may grant, NAME=VALUE, NAME=* or NAME=PREFIX* (repeatable; without it: any but relay and outlet attributes)', collect, [])
    .option('--identity <name>', 'identity to ask as')
    .option('--project <name>', 'project')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (o: { attribute: string[]; relay?: string; expiresIn: string; usageCount: string; enroller?: boolean; mayGrant: string[]; identity?: string; project?: string; output: OutputFormat }) => {
      if (o.mayGrant.length > 0 && o.enroller !== true) throw new CliError('--may-grant is given with --enroller only', 'bad-input')
      const attributes = { ...parseAttributes(o.attribute), ...(o.relay !== undefined ? { relay: o.relay } : {}) }
      const usageCount = Number(o.usageCount)
      if (!Number.isInteger(usageCount) || usageCount < 1) throw new CliError('--usage-count must be a whole number of at least 1', 'bad-input')
      const t = await withAuthority(new Home(), o, (c) => c.createTicket({ attributes, expiresIn: parseDuration(o.expiresIn), usageCount, role: o.enroller === true ? 'enroller' : 'member', ...(o.mayGrant.length > 0 ? { mayGrant: o.mayGrant } : {}) }))
      // One time format everywhere: ISO 8601, as leases and credentials are shown.
      print(o.output, { ...t, expiresAt: iso(t.expiresAt) }, () => t.ticket)
    })
  const ticketAsker = (c: Command): Command => c.option('--identity <name>', 'identity to ask as').option('--project <name>', 'project').option('--output <format>', 'plain or json', parseOutput, 'plain')
  ticketAsker(ticket.command('list').description('Outstanding tickets (uses left, not expired): all of them for an admin, its own for an enroller; never the ticket itself'))
    .action(async (o: AdminOptions) => {
      const rows = (await withAuthority(new Home(), o, (c) => c.listTickets())).map((t) => ({ ...t, expiresAt: iso(t.expiresAt), createdAt: iso(t.createdAt) }))
      print(o.output, rows, () => table(rows, ['id', 'role', 'attributes', 'usesLeft', 'expiresAt', 'createdBy']))
    })
  ticketAsker(ticket.command('revoke').argument('<id>', 'ticket id, as `ticket list` shows it').description('Revoke an outstanding ticket: it can no longer be redeemed'))
    .action(async (id: string, o: AdminOptions) => {
      await withAuthority(new Home(), o, (c) => c.revokeTicket(id))
      print(o.output, { revoked: id }, () => `ticket ${id} revoked`)
    })

  program.command('enroll').argument('<ticket>', 'ticket from `portico ticket create`')
    .description('Become a member of the ticket\'s project, with its attributes, and fetch a credential')
    .option('--identity <name>', 'identity to enroll (default: the default identity)')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action(async (text: string, o: { identity?: string; output: OutputFormat }) => {
      const home = new Home()
      const ticket = decodeTicket(text)
      const p = { name: ticket.project, authority: importIdentity(nodeCrypto, ticket.authority), route: ticket.route, ...(ticket.replicas !== undefined ? { replicas: ticket.replicas } : {}) }
      const result = await withAuthority(home, { ...o, project: p }, async (c, node) => {
        const member = await c.enroll(ticket.code)
        const credential = await c.credential()
        return { identifier: node.identifier, project: p.name, attributes: member.attributes, credentialExpiresAt: iso(credential.expiresAt) }
      })
      home.saveProject(p)
      home.markEnrolled(p.name, result.identifier, ticket.code)
      print(o.output, result, () => `${result.identifier} enrolled in project ${p.name} with attributes ${JSON.stringify(result.attributes)}; credential valid until ${result.credentialExpiresAt}`)
    })

  const member = program.command('member').description('Project members (admins only)')
  const asAdmin = (c: Command): Command => c.option('--identity <name>', 'admin identity to ask as').option('--project <name>', 'project').option('--output <format>', 'plain or json', parseOutput, 'plain')
  type AdminOptions = { identity?: string; project?: string; output: OutputFormat }
  asAdmin(member.command('add').argument('<identifier>', 'identity to add').description('Add a member with attributes')
    .option('--attribute <key=value>', 'attribute (repeatable)', collect, []).option('--enroller', 'may create tickets'))
    .action(async (identifier: string, o: AdminOptions & { attribute: string[]; enroller?: boolean }) => {
      const m = await withAuthority(new Home(), o, (c) => c.addMember(identifier, parseAttributes(o.attribute), o.enroller === true ? 'enroller' : 'member'))
      print(o.output, m, () => `member ${m.identifier} added with ${JSON.stringify(m.attributes)}`)
    })
  asAdmin(member.command('list').description('List members')).action(async (o: AdminOptions) => {
    const rows = await withAuthority(new Home(), o, (c) => c.listMembers())
    print(o.output, rows.map((m) => ({ ...m, addedAt: iso(m.addedAt) })), () => table(rows.map((m) => ({ ...m, addedAt: iso(m.addedAt) })), ['identifier', 'role', 'attributes', 'addedAt']))
  })
  asAdmin(member.command('show').argument('<identifier>', 'member').description('Show a member')).action(async (identifier: string, o: AdminOptions) => {
    const m = await withAuthority(new Home(), o, (c) => c.showMember(identifier))
    print(o.output, { ...m, addedAt: iso(m.addedAt) }, () => details({ ...m, addedAt: iso(m.addedAt) }))
  })
  asAdmin(member.command('delete').argument('<identifier>', 'member').description('Delete a member: no new credentials, and within 15 s every node closes its channels'))
    .action(async (identifier: string, o: AdminOptions) => {
      await withAuthority(new Home(), o, (c) => c.deleteMember(identifier))
      print(o.output, { deleted: identifier }, () => `member ${identifier} deleted and revoked`)
    })
}
