export class SecureChannelError extends Error {
  override name = 'SecureChannelError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The peer proved an identity, but not one our trust policy accepts. */
export class UntrustedPeerError extends SecureChannelError {
  override name = 'UntrustedPeerError'
}

/** The peer's Noise static key is not the one its identity attested: a man in the middle, or a bug. */
export class UnexpectedPeerError extends SecureChannelError {
  override name = 'UnexpectedPeerError'
}

export class HandshakeTimeoutError extends SecureChannelError {
  override name = 'HandshakeTimeoutError'
}

export class ChannelClosedError extends SecureChannelError {
  override name = 'ChannelClosedError'
}

/** A node on the way to the listener said a hop of the route is not there: no handshake can complete. */
export class UnreachableError extends SecureChannelError {
  override name = 'UnreachableError'
}
