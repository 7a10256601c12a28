import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const BIN = new URL('../../bin/portico.js', import.meta.url).pathname

/**
 * The real `portico` binary in a throw-away home, for benchmarks that run separate processes;
 * `bin` may be another checkout's, to compare two builds side by side.
 */
export function benchHome(prefix: string, bin = BIN): { home: string; portico: (...args: string[]) => Promise<string> } {
  const home = mkdtempSync(join(tmpdir(), prefix))
  const env = { ...process.env, PORTICO_HOME: home, PORTICO_LOG_LEVEL: 'warn' }
  return { home, portico: async (...args) => (await run(process.execPath, [bin, ...args], { env })).stdout.trim() }
}

/** A project node on `port`, then an outlet and an inlet identity enrolled with the given ticket options. */
export async function benchProject(portico: (...args: string[]) => Promise<string>, port: number, outletTicket: string[], inletTicket: string[]): Promise<void> {
  await portico('identity', 'create', 'admin')
  await portico('authority', 'create', '--tcp-listener-address', `127.0.0.1:${port}`)
  for (const [name, args] of [['outlet', outletTicket], ['inlet', inletTicket]] as const) {
    await portico('identity', 'create', name)
    await portico('enroll', await portico('ticket', 'create', ...args), '--identity', name)
  }
}
