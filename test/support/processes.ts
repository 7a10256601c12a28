import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Resident memory of a process, from /proc (Linux). */
export function rssBytes(pid: number): number {
  return (statusField(pid, 'VmRSS') ?? 0) * 1024
}

/** Times a process's main thread went to sleep of its own accord (waiting for I/O, a timer or a lock). */
export function voluntarySleeps(pid: number): number {
  return statusField(pid, 'voluntary_ctxt_switches') ?? NaN
}

/** The number a line of /proc/PID/status gives (`Name:\tvalue [kB]`); undefined if there is no such line. */
function statusField(pid: number, name: string): number | undefined {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m?.[1] === undefined ? undefined : Number(m[1])
}

export function nodePid(home: string, name: string): number {
  return (JSON.parse(readFileSync(join(home, 'nodes', name, 'node.json'), 'utf8')) as { pid: number }).pid
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid)
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

/** Minor page faults of a process so far: pages the kernel had to map in (zero-filled or shared) as it touched them. */
export function minorFaults(pid: number): number {
  return Number(statFields(pid)[7])
}

/** The fields of /proc/PID/stat after the command name, from the state on (field 3 of proc(5) is index 0). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name may hold spaces; the fields after its closing parenthesis are fixed.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** Linux's USER_HZ, fixed at 100 for user space on every architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100
