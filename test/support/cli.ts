import { execFile } from 'node:child_process'
import { tempDir } from './temp-dir.js'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const BIN = new URL('../../bin/portico.js', import.meta.url).pathname

export interface CliResult { stdout: string; stderr: string; code: number }
export type Cli = ((...args: string[]) => Promise<CliResult>) & { home: string; env: NodeJS.ProcessEnv }

/** The real `portico` binary with its own `$PORTICO_HOME`, as a user would run it. */
export function cli(prefix = 'portico-e2e-', extraEnv: NodeJS.ProcessEnv = {}): Cli {
  const home = tempDir(prefix)
  const env = { ...process.env, PORTICO_HOME: home, ...extraEnv }
  const fn = async (...args: string[]): Promise<CliResult> => {
    try {
      const r = await run(process.execPath, [BIN, ...args], { env, timeout: 60_000 })
      return { stdout: r.stdout.trim(), stderr: r.stderr.trim(), code: 0 }
    } catch (err) {
      const e = err as { stdout: string; stderr: string; code: number }
      return { stdout: e.stdout.trim(), stderr: e.stderr.trim(), code: e.code }
    }
  }
  return Object.assign(fn, { home, env })
}

/** Runs and insists on success, returning stdout. */
export async function ok(c: Cli, ...args: string[]): Promise<string> {
  const r = await c(...args)
  if (r.code !== 0) throw new Error(`portico ${args.join(' ')} failed (${r.code}): ${r.stderr}`)
  return r.stdout
}
