import { PorticoError, type ErrorKind } from '../../util/errors.js'
import type { Permission } from '../backends/backend.js'

// The types both sides of a lease use: the outlet's manager that issues it, and the inlet that
// holds it and injects it. Neither side imports the other.

/** A lease as issued: the credential to inject, until when, and what it allows. */
export interface LeaseGrant {
  id: string
  /** When it ends, by the outlet's clock (milliseconds since the epoch): for people to read. */
  expiresAt: number
  /**
   * How long it had left when the outlet sent it: the inlet times renewal by this and its own
   * clock, so a clock that differs from the outlet's does not make it renew late or never.
   */
  expiresInMs: number
  authorization: string
  token: string
  backend: string
  /** What the lease allows: the inlet forwards only the API paths, databases and statements these need. */
  permissions: Permission[]
  /** The Host header the database expects (databaseHost): an inlet sends it in place of its client's. */
  host?: string
}

export interface LeaseView {
  id: string
  identifier: string
  backend: string
  createdAt: string
  expiresAt: string
  revokedAt: string | null
  permissions: unknown
}

/** A lease request refused, or a template that cannot be rendered: the message is for the caller. */
export class LeaseError extends PorticoError {
  override readonly code: string = 'lease'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'LeaseError'
}
