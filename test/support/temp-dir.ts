import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Set (to anything) to keep the tests' directories, node homes and logs included, for reading after a run. */
export const KEEP_TEST_DIRS_ENV = 'PORTICO_TEST_KEEP'

const made: string[] = []

/**
 * A new directory under the system's temporary one, removed when this test process exits: a
 * test run leaves nothing behind, however many times it is run on one machine.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  if (made.length === 0) process.once('exit', removeAll)
  made.push(dir)
  return dir
}

function removeAll(): void {
  if (process.env[KEEP_TEST_DIRS_ENV] !== undefined) return
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
}
