import { PorticoError, type ErrorKind } from '../util/errors.js'
export class SecureChannelError extends PorticoError {
  override readonly code: string = 'secure-channel'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'SecureChannelError'
}

/** The peer proved an identity, but not one our trust policy accepts. */
export class UntrustedPeerError extends SecureChannelError {
  override readonly code: string = 'untrusted-peer'
  override readonly kind: ErrorKind = 'refused'
  override name = 'UntrustedPeerError'
}

/** The peer's Noise static key is not the one its identity attested: a man in the middle, or a bug. */
export class UnexpectedPeerError extends SecureChannelError {
  override readonly code: string = 'unexpected-peer'
  override readonly kind: ErrorKind = 'refused'
  override name = 'UnexpectedPeerError'
}

export class HandshakeTimeoutError extends SecureChannelError {
  override readonly code: string = 'handshake-timeout'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'HandshakeTimeoutError'
}

export class ChannelClosedError extends SecureChannelError {
  override readonly code: string = 'channel-closed'
  override readonly kind: ErrorKind = 'refused'
  override name = 'ChannelClosedError'
}

/** A node on the way to the listener said a hop of the route is not there: no handshake can complete. */
export class UnreachableError extends SecureChannelError {
  override readonly code: string = 'unreachable'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'UnreachableError'
}
