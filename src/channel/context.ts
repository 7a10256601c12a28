import type { Logger } from 'pino'
import { randomBytes } from 'node:crypto'
import type { Crypto } from '../crypto/crypto.js'
import type { CredentialAndPurposeKey } from '../identity/credential.js'
import type { Identity } from '../identity/identity.js'
import type { LocalIdentity } from '../identity/local-identity.js'
import type { Router } from '../routing/router.js'
import type { VerifyContext } from './peer.js'
import type { SecureChannel } from './secure-channel.js'

export const HANDSHAKE_TIMEOUT_MS = 10_000

/**
 * What both ends of a handshake need. Authorities and credentials are providers, evaluated at
 * each handshake, so that a refreshed credential or a new authority is used without restarts.
 */
export interface ChannelContext {
  router: Router
  log: Logger
  crypto: Crypto
  identity: LocalIdentity
  authorities: () => readonly Identity[]
  credentials: () => readonly CredentialAndPurposeKey[]
  now: () => number
  /** The keep-alive tick of established channels (CHANNEL_TICK_MS unless a test shortens it). */
  keepAliveTickMs?: number
  /** Told of every channel that opens, so a node can list, refresh and revoke them. */
  onChannel?: (channel: SecureChannel) => void
}

export function verifyContext(ctx: ChannelContext): VerifyContext {
  return { crypto: ctx.crypto, authorities: ctx.authorities(), now: ctx.now }
}

export function randomAddress(prefix: string): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`
}

export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
