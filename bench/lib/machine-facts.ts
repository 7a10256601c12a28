import { availableParallelism, cpus, release } from 'node:os'
import { readIfExists } from './system-files.js'

/**
 * What decides the cost of a hop between processes on this machine, printed beside the figures so
 * that runs on different machines can be told apart. A kernel that isolates page tables (PTI) on
 * a CPU without PCID empties the TLB at every system call and every switch between processes:
 * each wake-up of a Node process then starts cold, and a chain of processes pays for it at each
 * step (docs/operations.md has the figures of such a machine).
 */
export function machineFacts(): Record<string, string | number> {
  const flags = /^flags\s*:\s*(.*)$/m.exec(readIfExists('/proc/cpuinfo') ?? '')?.[1]?.split(' ')
  const has = (flag: string): string => flags === undefined ? 'unknown' : flags.includes(flag) ? 'yes' : 'no'
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: availableParallelism(),
    kernel: release(),
    'page-table isolation (Meltdown)': readIfExists('/sys/devices/system/cpu/vulnerabilities/meltdown') ?? 'unknown',
    pcid: has('pcid'),
    hypervisor: has('hypervisor')
  }
}
