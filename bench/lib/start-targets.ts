import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'

export interface Targets {
  /** Port of a TCP echo server. */
  echo: number
  /** Port of a sink that answers the byte count (bulk.ts). */
  sink: number
  stop(): void
}

/** Starts targets.ts in a process of its own, so that what it costs is not counted as ours. */
export async function startTargets(signal?: AbortSignal): Promise<Targets> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./targets.ts', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const [line] = await once(createInterface({ input: child.stdout }), 'line', signal === undefined ? {} : { signal }) as [string]
    const ports = JSON.parse(line) as { echo: number; sink: number }
    return { ...ports, stop: () => child.kill() }
  } catch (err) {
    child.kill()
    throw err
  }
}
