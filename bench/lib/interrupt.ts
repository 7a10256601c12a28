/** Exit codes of a process ended by these signals, as a shell reports them. */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const

/**
 * Wraps a benchmark's clean-up so that it runs once: at the end of the run, or as soon as the run
 * is interrupted (Ctrl-C, or the SIGTERM of `timeout`), after which the process exits. Without it,
 * an interrupted benchmark leaves its database and its Portico nodes running. The run's own
 * `finally` awaits the same promise, so the process cannot end halfway through the clean-up.
 */
export function cleanUpOnce(cleanup: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined
  const run = (): Promise<void> => (running ??= cleanup())
  for (const [signal, code] of Object.entries(SIGNAL_EXIT_CODES)) {
    process.once(signal, () => { void run().finally(() => process.exit(code)) })
  }
  return run
}
