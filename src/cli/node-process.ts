import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLogger } from '../log/logger.js'
import type { Home, NodeRecord } from '../node/home.js'
import { runNode, type RunNodeOptions } from '../node/run-node.js'
import { nodeProcessFlags } from './node-flags.js'

export const START_TIMEOUT_MS = 30_000
/** Secrets for a background node travel in its environment, never on a command line `ps` can show. */
export const TICKET_ENV = 'PORTICO_ENROLLMENT_TICKET'

/** Runs a node in this process, logging to stdout, until SIGINT or SIGTERM. */
export async function runForeground(home: Home, options: Omit<RunNodeOptions, 'log' | 'signal'>): Promise<void> {
  const controller = new AbortController()
  process.once('SIGINT', () => controller.abort())
  process.once('SIGTERM', () => controller.abort())
  await runNode(home, { ...options, log: createLogger({ name: options.name }), signal: controller.signal })
}

/** The last error the node logged, to say why it did not start. */
function lastError(logFile: string): string | undefined {
  if (!existsSync(logFile)) return undefined
  const lines = readFileSync(logFile, 'utf8').trim().split('\n').reverse()
  for (const line of lines) {
    if (line.startsWith('error: ')) return line.slice('error: '.length)
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
export async function startBackground(home: Home, name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<NodeRecord | undefined> {
  mkdirSync(home.nodeDir(name), { recursive: true, mode: 0o700 })
  const startedAt = Date.now()
  const log = openSync(home.logFile(name), 'a', 0o600)
  const child = spawn(process.execPath, [...nodeProcessFlags(), process.argv[1] ?? '', ...args, '--foreground'], {
    detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...env }
  })
  child.unref()
  const deadline = startedAt + START_TIMEOUT_MS
  while (!(existsSync(home.apiSocket(name)) && home.nodeRecord(name)?.pid === child.pid)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const reason = lastError(home.logFile(name))
      throw new Error(`node '${name}' did not start${reason !== undefined ? `: ${reason}` : ''} (log: ${home.logFile(name)})`)
    }
    await sleep(50)
  }
  return home.nodeRecord(name)
}
