import { readFileSync } from 'node:fs'

/** A file of /proc, /sys or a cgroup, trimmed; undefined where this kernel or machine has none. */
export function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    return undefined
  }
}
