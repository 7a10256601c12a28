import type { Logger } from 'pino'
import { defaultPolicy, Policy, type Decision } from '../policy/policy.js'
import type { LocalMessage, SecureChannelInfo } from '../routing/message.js'
import type { AccessControl } from '../routing/router.js'
import type { PolicyRepository } from '../store/store.js'

/**
 * The policy of each resource on this node (services, outlets, inlets, relays), kept in the store
 * and in memory; a resource without one gets the default policy.
 */
export class ResourcePolicies {
  private readonly policies = new Map<string, Policy>()
  /** Told of every refusal, for metrics. */
  onDenied: ((resource: string) => void) | undefined

  constructor(
    private readonly repository: PolicyRepository | undefined,
    private readonly log: Logger,
    private readonly isRevoked: (identifier: string) => boolean,
    private readonly fallback: Policy = defaultPolicy
  ) {}

  async load(): Promise<void> {
    for (const p of await this.repository?.list() ?? []) this.policies.set(p.resource, Policy.parse(p.expression))
  }

  async set(resource: string, expression: string, now: number): Promise<Policy> {
    const policy = Policy.parse(expression)
    await this.repository?.set({ resource, expression, updatedAt: now })
    this.policies.set(resource, policy)
    this.log.info({ resource, policy: expression }, 'policy set')
    return policy
  }

  async delete(resource: string): Promise<boolean> {
    const had = this.policies.delete(resource)
    const stored = await this.repository?.delete(resource) ?? false
    return had || stored
  }

  get(resource: string): Policy {
    return this.policies.get(resource) ?? this.fallback
  }

  list(): { resource: string; expression: string }[] {
    return [...this.policies.entries()].map(([resource, p]) => ({ resource, expression: p.source }))
  }

  /** Decides for one sender (none: a plain message), quietly. */
  evaluate(resource: string, type: string, sc: SecureChannelInfo | undefined): Decision {
    if (sc !== undefined && this.isRevoked(sc.identifier)) return { allowed: false, reason: `${sc.identifier} has been revoked` }
    return this.get(resource).decide(
      sc === undefined ? { hasCredential: false, attributes: {} } : { identifier: sc.identifier, hasCredential: sc.hasCredential, attributes: sc.attributes },
      { id: resource, type }
    )
  }

  /** Decides one message for `resource`, counting and logging a refusal. */
  decide(resource: string, type: string, msg: Omit<LocalMessage, 'payload'>): Decision {
    const sc = msg.secureChannel
    const d = this.evaluate(resource, type, sc)
    if (!d.allowed) {
      this.log.warn({ resource, subject: sc?.identifier, reason: d.reason }, 'access denied')
      this.onDenied?.(resource)
    }
    return d
  }

  /** A router gate for `resource`: decided at each message, so a policy change applies at once. */
  gate(resource: string, type: string): AccessControl {
    return (msg) => this.decide(resource, type, msg).allowed
  }
}
