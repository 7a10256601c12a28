import { readFileSync } from 'node:fs'
import { availableParallelism, cpus, release } from 'node:os'

/** Reads a file of /proc or /sys, or undefined where this kernel has none. */
function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
}

/**
 * What decides the cost of a hop between processes on this machine, printed beside the figures so
 * that runs on different machines can be told apart. A kernel that isolates page tables (PTI) on
 * a CPU without PCID empties the TLB at every system call and every switch between processes:
 * each wake-up of a Node process then starts cold, and a chain of processes pays for it at each
 * step (docs/operations.md has the figures of such a machine).
 */
export function machineFacts(): Record<string, string | number> {
  const flags = /^flags\s*:\s*(.*)$/m.exec(read('/proc/cpuinfo') ?? '')?.[1]?.split(' ') ?? []
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: availableParallelism(),
    kernel: release(),
    'page-table isolation (Meltdown)': read('/sys/devices/system/cpu/vulnerabilities/meltdown') ?? 'unknown',
    pcid: flags.length === 0 ? 'unknown' : flags.includes('pcid') ? 'yes' : 'no',
    hypervisor: flags.includes('hypervisor') ? 'yes' : flags.length === 0 ? 'unknown' : 'no'
  }
}
