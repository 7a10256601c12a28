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

/** A cap on leases is reached (the caller's, or the outlet's): a lease may be issued again once others end. */
export class LeaseLimitError extends LeaseError {
  override readonly code: string = 'lease-limit'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'LeaseLimitError'
}

/** The outlet issues no leases for now (its database refuses its admin credentials, say): the message says why. */
export class OutletNotReadyError extends LeaseError {
  override readonly code: string = 'outlet-not-ready'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'OutletNotReadyError'
}

/** No such lease of the caller's. */
export class LeaseNotFoundError extends LeaseError {
  override readonly code: string = 'lease-not-found'
  override readonly kind: ErrorKind = 'not-found'
  override name = 'LeaseNotFoundError'
}
