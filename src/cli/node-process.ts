import { ERROR_KINDS, EXIT_CODE } from '../util/errors.js'
import { CliError } from './cli-error.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { step } from './progress.js'
import { z } from 'zod'
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLogger } from '../log/logger.js'
import type { Home, NodeRecord } from '../node/home.js'
import { runNode, type RunNodeOptions } from '../node/run-node.js'
import { nodeProcessFlags } from './node-flags.js'

export const START_TIMEOUT_MS = 30_000
/** A ticket may also come in the environment, for scripts that would otherwise put it on a command line. */
export const TICKET_ENV = 'PORTICO_ENROLLMENT_TICKET'
/** The hidden flag by which a background node reads its secrets from its standard input. */
export const SECRETS_STDIN_FLAG = '--secrets-stdin'
/** The most a background node reads from its standard input. */
export const MAX_SECRETS_BYTES = 2 * 1024 * 1024

/**
 * What a background node gets through a pipe from the command that starts it, never on its
 * command line (which every user sees in `ps`) nor in its environment: an inline configuration
 * (it may hold passwords and shared secrets), a ticket, a store URL (it may hold a password).
 */
export const LaunchSecrets = z.object({ configuration: z.string().optional(), ticket: z.string().optional(), store: z.string().optional() }).strict()
export type LaunchSecrets = z.infer<typeof LaunchSecrets>

/** Reads the secrets a starting command piped to this process. */
export async function readLaunchSecrets(): Promise<LaunchSecrets> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of process.stdin) {
    n += (c as Buffer).length
    if (n > MAX_SECRETS_BYTES) throw new CliError(`more than ${MAX_SECRETS_BYTES} bytes on standard input`, 'bad-input')
    chunks.push(c as Buffer)
  }
  return LaunchSecrets.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')))
}

/** After SIGTERM or SIGINT, a node that has not finished stopping by then exits anyway (with 0: it was asked to stop). */
export const STOP_DRAIN_MS = 10_000
/** After a node stopped, what still holds the event loop (a socket being torn down) gets this long. */
export const EXIT_GRACE_MS = 1000

/**
 * Runs a node in this process, logging to stdout, until SIGINT or SIGTERM (or `node stop`). It
 * drains, then exits 0 within STOP_DRAIN_MS whatever state it is in: starting, waiting for its
 * authority, with clients in flight to an outlet that does not answer.
 */
export async function runForeground(home: Home, options: Omit<RunNodeOptions, 'log' | 'signal'>): Promise<void> {
  const controller = new AbortController()
  const log = createLogger({ name: options.name })
  const stop = (signal: string): void => {
    log.info({ signal, drainMs: STOP_DRAIN_MS }, 'stopping')
    controller.abort()
    setTimeout(() => {
      log.warn({ drainMs: STOP_DRAIN_MS }, 'the node did not finish stopping in time: exiting anyway')
      process.exit(0)
    }, STOP_DRAIN_MS).unref()
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
  try {
    await runNode(home, { ...options, log, signal: controller.signal })
  } catch (err) {
    // Asked to stop while starting: a stop, not a failure.
    if (!controller.signal.aborted) throw err
    log.info({ err: (err as Error).message }, 'stopped while starting')
  }
  setTimeout(() => process.exit(0), EXIT_GRACE_MS).unref()
}

/** The last error the node logged, to say why it did not start. */
function lastError(logFile: string): string | undefined {
  if (!existsSync(logFile)) return undefined
  const lines = readFileSync(logFile, 'utf8').trim().split('\n').reverse()
  for (const line of lines) {
    // The node's own last words, less the code that main() adds: the caller adds its own.
    if (line.startsWith('error: ')) return line.slice('error: '.length).replace(/ \([a-z0-9-]+\)$/, '')
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } | string }
      if ((entry.level ?? 0) >= 50) return typeof entry.err === 'string' ? entry.err : entry.err?.message ?? entry.msg
    } catch { /* not a log line */ }
  }
  return undefined
}

/**
 * Starts `portico ARGS --foreground` detached, logging to the node's file, and waits until its
 * control socket answers (or it exits, in which case its last logged error is the message).
 */
export async function startBackground(home: Home, name: string, args: string[], secrets: LaunchSecrets = {}): Promise<NodeRecord | undefined> {
  mkdirSync(home.nodeDir(name), { recursive: true, mode: 0o700 })
  const startedAt = Date.now()
  const log = openSync(home.logFile(name), 'a', 0o600)
  const env = { ...process.env }
  delete env[TICKET_ENV]
  const child = spawn(process.execPath, [...nodeProcessFlags(), process.argv[1] ?? '', ...args, '--foreground', SECRETS_STDIN_FLAG], {
    detached: true, stdio: ['pipe', log, log], env
  })
  child.stdin?.on('error', () => undefined)
  child.stdin?.end(JSON.stringify(secrets))
  child.unref()
  const deadline = startedAt + START_TIMEOUT_MS
  await step(`starting node '${name}' (enrolling, opening its store and portals)`, () => waitForStart(home, name, child, deadline))
  return home.nodeRecord(name)
}

/** Until the node answers on its control socket, or its process exits (its last logged error is then the message). */
async function waitForStart(home: Home, name: string, child: ChildProcess, deadline: number): Promise<void> {
  while (!(existsSync(home.apiSocket(name)) && home.nodeRecord(name)?.pid === child.pid)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const reason = lastError(home.logFile(name))
      // A node that exited said why by its exit code (a bad configuration is bad input, not an outage).
      const kind = child.exitCode === null ? undefined : ERROR_KINDS.find((k) => k !== 'internal' && EXIT_CODE[k] === child.exitCode)
      throw new CliError(`node '${name}' did not start${reason !== undefined ? `: ${reason}` : ''} (log: ${home.logFile(name)})`, kind ?? 'unavailable')
    }
    await sleep(50)
  }
}
