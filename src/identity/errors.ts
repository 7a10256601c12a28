import { PorticoError, type ErrorKind } from '../util/errors.js'
/** An identity, attestation or credential that does not verify. Messages never include key material. */
export class VerificationError extends PorticoError {
  override readonly code: string = 'verification-failed'
  override readonly kind: ErrorKind = 'refused'
  override name = 'VerificationError'
}

export class ExpiredError extends VerificationError {
  override readonly code: string = 'expired'
  override readonly kind: ErrorKind = 'refused'
  override name = 'ExpiredError'
}
