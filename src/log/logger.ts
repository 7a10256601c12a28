import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

/**
 * Field names that could carry a secret anywhere in a log object. Redaction is the safety net;
 * code is written so that secrets are never passed to the logger in the first place.
 */
export const REDACTED_PATHS = [
  'secret', 'token', 'password', 'ticket', 'authorization', 'key',
  '*.secret', '*.token', '*.password', '*.ticket', '*.authorization', '*.key',
  'headers.authorization', '*.headers.authorization'
]

export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  const config = {
    level: options.level ?? process.env.PORTICO_LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid, ...(options.name !== undefined ? { node: options.name } : {}) },
    timestamp: pino.stdTimeFunctions.isoTime
  }
  return options.destination === undefined ? pino(config) : pino(config, options.destination)
}

/** A logger that drops everything, for tests and library users who bring none. */
export const silentLogger: Logger = pino({ level: 'silent' })
