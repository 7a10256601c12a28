import type { Command } from 'commander'
import { readFileSync, writeFileSync } from 'node:fs'
import { CliError } from '../cli-error.js'
import { nodeCrypto } from '../../crypto/node-crypto.js'
import { importIdentityHex } from '../../identity/identity.js'
import { Home } from '../../node/home.js'
import { parseOutput, print, table } from '../output.js'

export function identityCommands(program: Command): void {
  const identity = program.command('identity').description('Create and inspect cryptographic identities')

  identity.command('create').argument('[name]', 'a local name for the identity', 'default')
    .description('Create an Ed25519 identity; its secret key goes to the vault in $PORTICO_HOME')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action((name: string, o: { output: 'plain' | 'json' }) => {
      const r = new Home().createIdentity(nodeCrypto, name)
      print(o.output, { name: r.name, identifier: r.identifier }, () => r.identifier)
    })

  identity.command('list').description('List local identities')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action((o: { output: 'plain' | 'json' }) => {
      const home = new Home()
      const def = home.defaultIdentityName()
      const rows = home.listIdentities().map((r) => ({ name: r.name, identifier: r.identifier, default: r.name === def }))
      print(o.output, rows, () => table(rows, ['name', 'identifier', 'default']))
    })

  identity.command('show').argument('[name]', 'identity name (default: the default identity)')
    .description('Show an identity; --full prints its change history as hex')
    .option('--full', 'print the full change history (hex)')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action((name: string | undefined, o: { full?: boolean; output: 'plain' | 'json' }) => {
      const home = new Home()
      const r = home.identityRecord(name ?? home.defaultIdentityName() ?? 'default')
      const id = importIdentityHex(nodeCrypto, r.changeHistory)
      const data = {
        name: r.name, identifier: r.identifier, changeHistory: r.changeHistory,
        changes: id.changes.map((c) => ({
          primaryPublicKey: Buffer.from(c.change.primaryPublicKey).toString('hex'),
          attestationsValidFrom: new Date(c.change.attestationsValidFrom * 1000).toISOString(),
          attestationsValidUntil: new Date(c.change.attestationsValidUntil * 1000).toISOString()
        }))
      }
      print(o.output, data, () => (o.full === true ? r.changeHistory : r.identifier))
    })

  identity.command('export').argument('<name>', 'identity to export')
    .description('Write an identity with its secret key to a new file (mode 0600), to run it on another machine: a replica of a project node')
    .requiredOption('--with-secret', 'include the primary secret key (required: the file lets its holder act as the identity)')
    .requiredOption('--file <path>', 'the file to create (never printed)')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action((name: string, o: { file: string; output: 'plain' | 'json' }) => {
      const exported = new Home().exportIdentityWithSecret(nodeCrypto, name)
      try {
        writeFileSync(o.file, JSON.stringify(exported) + '\n', { mode: 0o600, flag: 'wx' })
      } catch (err) {
        throw new CliError(`cannot create ${o.file}: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'conflict' : 'bad-input')
      }
      print(o.output, { exported: name, identifier: exported.identifier, file: o.file }, () => `identity ${name} (${exported.identifier}) and its secret key written to ${o.file}: move it, import it, delete it`)
    })

  identity.command('import').argument('<file>', 'a file from `identity export --with-secret`')
    .description('Take an identity and its secret key into this home\'s vault')
    .option('--name <name>', 'local name for it', 'default')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action((file: string, o: { name: string; output: 'plain' | 'json' }) => {
      let value: unknown
      try {
        value = JSON.parse(readFileSync(file, 'utf8'))
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as Error).message}`, 'bad-input')
      }
      const r = new Home().importIdentityWithSecret(nodeCrypto, o.name, value)
      print(o.output, { name: r.name, identifier: r.identifier }, () => `identity ${r.name} (${r.identifier}) imported`)
    })

  identity.command('verify').argument('<change-history>', 'a change history in hex')
    .description('Verify a change history (hash links, signatures, validity) and print its identifier')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action((hex: string, o: { output: 'plain' | 'json' }) => {
      const id = importIdentityHex(nodeCrypto, hex)
      print(o.output, { identifier: id.identifier, changes: id.changes.length, valid: true }, () => id.identifier)
    })
}
