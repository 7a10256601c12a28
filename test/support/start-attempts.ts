/** Start attempts for a server a test runs: a port found free can be taken by another test process before the server binds it. */
export const START_ATTEMPTS = 3

/** Runs `start` up to START_ATTEMPTS times; when none succeeds, the error names every attempt's reason. */
export async function startWithAttempts<T>(what: string, start: () => Promise<T>): Promise<T> {
  const failures: string[] = []
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await start()
    } catch (err) {
      failures.push(`attempt ${attempt}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  throw new Error(`${what} did not start:\n${failures.join('\n')}`)
}
