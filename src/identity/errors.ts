/** An identity, attestation or credential that does not verify. Messages never include key material. */
export class VerificationError extends Error {
  override name = 'VerificationError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

export class ExpiredError extends VerificationError {
  override name = 'ExpiredError'
}
