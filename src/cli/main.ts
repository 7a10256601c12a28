import { Command, CommanderError } from 'commander'
import { identityCommands } from './commands/identity.js'
import { nodeCommands } from './commands/node.js'
import { channelCommands } from './commands/channel.js'
import { projectCommands } from './commands/project.js'
import { policyCommands } from './commands/policy.js'
import { portalCommands } from './commands/portal.js'
import { leaseCommands } from './commands/lease.js'

export function buildProgram(): Command {
  const program = new Command('portico')
    .description('Reach private time-series databases through end-to-end encrypted portals.\nState lives in $PORTICO_HOME (default ~/.portico).')
    .version('0.1.0')
    .showHelpAfterError()
  identityCommands(program)
  nodeCommands(program)
  channelCommands(program)
  projectCommands(program)
  policyCommands(program)
  portalCommands(program)
  leaseCommands(program)
  return program
}

/** Errors are printed as one clear line (name and message, never a stack or a secret) and exit 1. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram()
  program.exitOverride()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode
      return
    }
    const e = err as Error
    process.stderr.write(`error: ${e.message}${e.name !== 'Error' ? ` (${e.name})` : ''}\n`)
    process.exitCode = 1
  }
}
