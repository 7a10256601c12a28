import { Command, CommanderError } from 'commander'
import { SECRETS_STDIN_FLAG } from './node-process.js'
import { codeOf, EXIT_CODE, kindOf } from '../util/errors.js'
import { identityCommands } from './commands/identity.js'
import { nodeCommands } from './commands/node.js'
import { channelCommands } from './commands/channel.js'
import { projectCommands } from './commands/project.js'
import { policyCommands } from './commands/policy.js'
import { portalCommands } from './commands/portal.js'
import { leaseCommands } from './commands/lease.js'
import { portalLifecycleCommands } from './commands/portal-lifecycle.js'
import { completionCommands } from './commands/completion.js'
import { consoleCommands } from './commands/console.js'
import { addHelpExamples } from './help-examples.js'
import { setQuiet } from './progress.js'

export function buildProgram(): Command {
  const program = new Command('portico')
    .description('Reach private time-series databases through end-to-end encrypted portals.\nState lives in $PORTICO_HOME (default ~/.portico).')
    .version('0.1.0')
    .showHelpAfterError()
    .option('-q, --quiet', 'no progress lines on standard error')
    // Before the commands are added, so that they inherit it: a usage error is thrown, not exited on.
    .exitOverride()
  identityCommands(program)
  nodeCommands(program)
  channelCommands(program)
  projectCommands(program)
  policyCommands(program)
  portalCommands(program)
  leaseCommands(program)
  portalLifecycleCommands(program)
  completionCommands(program)
  consoleCommands(program)
  addHelpExamples(program)
  return program
}

/** Exit code of a command line that commander refused (an unknown option, a bad argument). */
export const USAGE_EXIT_CODE = EXIT_CODE['bad-input']

/**
 * Errors are printed as one clear line (message and code, never a stack or a secret), or with
 * `--output json` as `{"error": {message, code, kind}}`, both on standard error; the exit code
 * says the kind (EXIT_CODE).
 */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram()
  setQuiet(argv.includes('--quiet') || argv.includes('-q'))
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message; help and --version end with 0.
      process.exitCode = err.exitCode === 0 ? 0 : USAGE_EXIT_CODE
      return
    }
    const message = err instanceof Error ? err.message : String(err)
    const code = codeOf(err)
    const kind = kindOf(err)
    // A background node's standard error is its JSON log: its last words are a log line too.
    if (argv.includes(SECRETS_STDIN_FLAG)) process.stderr.write(`${JSON.stringify({ level: 60, time: Date.now(), pid: process.pid, err: { message, code, kind }, msg: 'the node stopped' })}\n`)
    else process.stderr.write(wantsJson(argv) ? `${JSON.stringify({ error: { message, code, kind } })}\n` : `error: ${message} (${code})\n`)
    process.exitCode = EXIT_CODE[kind]
  }
}

function wantsJson(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === '--output=json' || (a === '--output' && argv[i + 1] === 'json'))
}
