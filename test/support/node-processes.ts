import type { Cli } from './cli.js'
import { nodePid } from './processes.js'

/** Whether a process runs with this PID. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** SIGKILL: no close message, no clean-up, as a crash or a power loss. Waits until the process is gone. */
export async function killNode(c: Cli, name: string): Promise<void> {
  const pid = nodePid(c.home, name)
  process.kill(pid, 'SIGKILL')
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25))
  if (alive(pid)) throw new Error(`node ${name} (pid ${pid}) survived SIGKILL`)
}

/**
 * Writes one point every 200 ms through an influxdb inlet until one is stored (204); returns how
 * long after `since` (ms since the epoch) that write's answer came.
 */
export async function writesAgain(port: number, db: string, since: number, timeoutMs = 60_000): Promise<number> {
  for (;;) {
    const sent = Date.now()
    if (sent - since > timeoutMs) throw new Error(`no write went through within ${timeoutMs} ms`)
    const r = await fetch(`http://127.0.0.1:${port}/write?db=${db}`, { method: 'POST', body: `recovery v=${sent}`, signal: AbortSignal.timeout(15_000) }).catch(() => undefined)
    if (r?.status === 204) return Date.now() - since
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
