import { UntrustedPeerError } from '../channel/errors.js'
import type { TrustPolicy } from '../channel/trust-policy.js'
import type { Policy } from './policy.js'

/** A policy applied to the peer of a secure channel, at handshake: how an inlet checks its outlet. */
export function policyTrust(policy: () => Policy, resource: { id: string; type: string }): TrustPolicy {
  return {
    get description() {
      return `policy ${policy().source}`
    },
    check(peer) {
      const d = policy().decide({ identifier: peer.identifier, hasCredential: peer.credentials.length > 0, attributes: peer.attributes }, resource)
      if (!d.allowed) throw new UntrustedPeerError(`${resource.type} ${resource.id}: ${d.reason}`)
    }
  }
}
