import type { Command } from 'commander'
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

  identity.command('verify').argument('<change-history>', 'a change history in hex')
    .description('Verify a change history (hash links, signatures, validity) and print its identifier')
    .option('--output <format>', 'plain or json', parseOutput, 'plain')
    .action((hex: string, o: { output: 'plain' | 'json' }) => {
      const id = importIdentityHex(nodeCrypto, hex)
      print(o.output, { identifier: id.identifier, changes: id.changes.length, valid: true }, () => id.identifier)
    })
}
