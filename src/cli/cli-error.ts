import { PorticoError, type ErrorKind } from '../util/errors.js'

/** A command that cannot go on, for a reason the message gives; `kind` picks its exit code. */
export class CliError extends PorticoError {
  override readonly code: string = 'cli'
  override name = 'CliError'
  constructor(message: string, override readonly kind: ErrorKind) {
    super(message)
  }
}
