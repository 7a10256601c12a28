/** Raised for any input that does not decode to the expected shape. Never carries the input bytes. */
export class DecodeError extends Error {
  override name = 'DecodeError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}
