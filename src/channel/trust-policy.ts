import { UntrustedPeerError } from './errors.js'
import type { PeerInfo } from './peer.js'

/** Decides, once the handshake has proved who the peer is, whether we talk to it. */
export interface TrustPolicy {
  readonly description: string
  check(peer: PeerInfo): void
}

export const trustEveryone: TrustPolicy = {
  description: 'anyone',
  check: () => undefined
}

export function trustIdentifier(identifier: string): TrustPolicy {
  return {
    description: `identifier ${identifier}`,
    check(peer) {
      if (peer.identifier !== identifier) {
        throw new UntrustedPeerError(`peer ${peer.identifier} is not the authorized identity ${identifier}`)
      }
    }
  }
}

/** Holders of a currently valid credential issued by `authority`. */
export function trustAuthority(authority: string): TrustPolicy {
  return {
    description: `holders of a credential from ${authority}`,
    check(peer) {
      if (!peer.credentials.some((c) => c.issuer === authority)) {
        throw new UntrustedPeerError(`peer ${peer.identifier} holds no valid credential from authority ${authority}`)
      }
    }
  }
}

export function trustAll(...policies: TrustPolicy[]): TrustPolicy {
  return {
    description: policies.map((p) => p.description).join(' and '),
    check(peer) {
      for (const p of policies) p.check(peer)
    }
  }
}
