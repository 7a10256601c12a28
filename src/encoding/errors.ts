import { PorticoError, type ErrorKind } from '../util/errors.js'
/** Raised for any input that does not decode to the expected shape. Never carries the input bytes. */
export class DecodeError extends PorticoError {
  override readonly code: string = 'decode'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'DecodeError'
}
