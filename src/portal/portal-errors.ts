import { PorticoError, type ErrorKind } from '../util/errors.js'

/**
 * A client connection could not be joined to the outlet (the route to it is down, or the outlet
 * refused): the message says why, naming the hop that failed where it is known.
 */
export class PortalUnavailableError extends PorticoError {
  override readonly code: string = 'portal-unavailable'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'PortalUnavailableError'
}
