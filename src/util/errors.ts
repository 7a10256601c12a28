/**
 * What went wrong, as a caller acts on it: the HTTP status a request gets, the exit code a command
 * returns. Decided by `instanceof` and `kind`, never by an error's name.
 */
export type ErrorKind = 'bad-input' | 'refused' | 'not-found' | 'conflict' | 'unavailable' | 'internal'

/**
 * The base of Portico's errors: a stable `code` (kebab-case, one per class or per RPC answer) and a
 * `kind`, with the `cause` kept. Messages never hold secrets; `code` is what programs match on.
 */
export abstract class PorticoError extends Error {
  abstract readonly code: string
  abstract readonly kind: ErrorKind
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = {
  'bad-input': 400, refused: 403, 'not-found': 404, conflict: 409, unavailable: 503, internal: 500
}

/**
 * A command's exit code by kind, so a script can tell "try again later" (6) from "you asked for
 * something wrong" (2) without reading the message. 1 is anything unexpected.
 */
export const EXIT_CODE: Readonly<Record<ErrorKind, number>> = {
  internal: 1, 'bad-input': 2, refused: 3, 'not-found': 4, conflict: 5, unavailable: 6
}

export const ERROR_KINDS: readonly ErrorKind[] = ['bad-input', 'refused', 'not-found', 'conflict', 'unavailable', 'internal']

/** The `code` programs match on: a Portico error's own, else `internal`. */
export function codeOf(err: unknown): string {
  return err instanceof PorticoError ? err.code : 'internal'
}

export function kindOf(err: unknown): ErrorKind {
  return err instanceof PorticoError ? err.kind : 'internal'
}
