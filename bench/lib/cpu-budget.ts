import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readIfExists } from './system-files.js'

/** Linux's CFS bandwidth period: a group may run `cpus` times this per period. */
const PERIOD_US = 100_000

export interface CpuBudgets {
  /** Puts every process back in the root group and removes the groups. */
  release(): void
}

/**
 * Gives each group of processes a fixed CPU budget with a Linux cgroup (v1 `cpu` controller or
 * v2 `cpu.max`), as if each group ran on a machine of its own with that many CPUs. Needs root and
 * a writable cgroup file system; returns undefined, changing nothing, where either is missing.
 * Threads a process starts later inherit its group.
 */
export function cpuBudgets(name: string, groups: Record<string, { cpus: number; pids: number[] }>): CpuBudgets | undefined {
  const v1 = '/sys/fs/cgroup/cpu'
  const v2 = '/sys/fs/cgroup'
  const root = existsSync(join(v1, 'cpu.cfs_quota_us')) ? v1 : readIfExists(join(v2, 'cgroup.controllers'))?.split(' ').includes('cpu') === true ? v2 : undefined
  if (root === undefined) return undefined
  const made: string[] = []
  const release = (): void => {
    for (const dir of made) {
      for (const pid of (readIfExists(join(dir, 'cgroup.procs')) ?? '').split('\n').filter((p) => p !== '')) {
        try { writeFileSync(join(root, 'cgroup.procs'), pid) } catch { /* the process has exited */ }
      }
      try { rmdirSync(dir) } catch { /* still busy: the kernel removes nothing, and a rerun reuses it */ }
    }
  }
  try {
    if (root === v2) writeFileSync(join(v2, 'cgroup.subtree_control'), '+cpu')
    for (const [group, { cpus, pids }] of Object.entries(groups)) {
      const dir = join(root, `${name}-${group}`)
      mkdirSync(dir, { recursive: true })
      made.push(dir)
      const quota = Math.round(cpus * PERIOD_US)
      if (root === v1) {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US))
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota))
      } else {
        writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`)
      }
      for (const pid of pids) writeFileSync(join(dir, 'cgroup.procs'), String(pid))
    }
  } catch {
    release()
    return undefined
  }
  return { release }
}
