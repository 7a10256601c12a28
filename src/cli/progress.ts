/** A step that has run this long gets a progress line on standard error. */
export const PROGRESS_AFTER_MS = 1000

let quiet = false

/** `--quiet` (or `-q`) anywhere on the command line. */
export function setQuiet(value: boolean): void {
  quiet = value
}

/** Progress is for people: shown on a terminal, or when PORTICO_PROGRESS=1 asks for it elsewhere; never with --quiet. */
function shown(): boolean {
  return !quiet && (process.stderr.isTTY || process.env.PORTICO_PROGRESS === '1')
}

/**
 * Runs a step that can take a while (connecting, a handshake, enrolling, waiting for a node or a
 * lease); if it is still running after PROGRESS_AFTER_MS, says on standard error what it waits for.
 * Standard output stays the command's result.
 */
export async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  if (!shown()) return fn()
  // PORTICO_PROGRESS_AFTER_MS changes the wait (0: every step says what it does).
  const after = Number(process.env.PORTICO_PROGRESS_AFTER_MS ?? PROGRESS_AFTER_MS)
  const timer = setTimeout(() => process.stderr.write(`… ${what}\n`), Number.isFinite(after) && after >= 0 ? after : PROGRESS_AFTER_MS)
  try {
    return await fn()
  } finally {
    clearTimeout(timer)
  }
}
