import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Resident memory of a process, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? 0) * 1024
}

export function nodePid(home: string, name: string): number {
  return (JSON.parse(readFileSync(join(home, 'nodes', name, 'node.json'), 'utf8')) as { pid: number }).pid
}
