import type { Logger } from 'pino'
import type { AuthorityClient, IssuedCredential } from '../authority/authority-client.js'
import type { Project } from '../authority/project.js'
import { LeaseClient, leaseServiceAddress } from '../influxdb/leases/lease-service.js'
import { outletTarget } from '../node/inlet-route.js'
import type { PorticoNode } from '../node/portico-node.js'
import { local, type Route } from '../routing/address.js'
import type { ConsoleActions } from './console-server.js'
import type { OutletLeases } from './project-view.js'

/** A credential is fetched again when it has less than this left. */
export const CONSOLE_CREDENTIAL_MARGIN_S = 300
/** An outlet that did not answer is asked again after this long (a relay may front a plain TCP outlet). */
export const OUTLET_RETRY_AFTER_MS = 60_000
/** How long the console waits for an outlet's lease list. */
export const OUTLET_ASK_TIMEOUT_MS = 3000

/**
 * The console's way to the project and to the outlets behind its relays, as its identity: a
 * credential kept fresh (outlets admit only members), lease clients per relay.
 */
export class ConsoleNode {
  private credential: IssuedCredential | undefined
  private readonly routes = new Map<string, Route>()
  private readonly quiet = new Map<string, { until: number; error: string }>()

  constructor(private readonly node: PorticoNode, private readonly project: Project, readonly authority: AuthorityClient, private readonly outlet: string, private readonly log: Logger) {
    node.context.credentials = () => this.credential === undefined ? [] : [this.credential]
  }

  private async fresh(signal: AbortSignal): Promise<void> {
    const now = Date.now() / 1000
    if (this.credential !== undefined && this.credential.expiresAt - now > CONSOLE_CREDENTIAL_MARGIN_S) return
    this.credential = await this.authority.credential(signal)
  }

  private leases(relay: string): LeaseClient {
    return new LeaseClient(this.node.router, async () => {
      const known = this.routes.get(relay)
      if (known !== undefined && this.node.channels.has(known[0]?.value ?? '')) return known
      const target = outletTarget({ via: relay, outlet: this.outlet }, this.project)
      const route = [...await this.node.resolve(target.channel, { signal: AbortSignal.timeout(OUTLET_ASK_TIMEOUT_MS) }), local(leaseServiceAddress(target.outlet))]
      this.routes.set(relay, route)
      return route
    })
  }

  /** The live leases of every holder at the outlet behind `relay` (the console's identity must be a lease admin there). */
  async outletLeases(relay: string, signal: AbortSignal): Promise<OutletLeases> {
    const quiet = this.quiet.get(relay)
    if (quiet !== undefined && quiet.until > Date.now()) return { relay, outlet: this.outlet, leases: [], error: quiet.error }
    try {
      await this.fresh(signal)
      const leases = await this.leases(relay).list(AbortSignal.any([signal, AbortSignal.timeout(OUTLET_ASK_TIMEOUT_MS)]), true)
      this.quiet.delete(relay)
      return { relay, outlet: this.outlet, leases }
    } catch (err) {
      const error = (err as Error).message
      this.quiet.set(relay, { until: Date.now() + OUTLET_RETRY_AFTER_MS, error })
      this.log.debug({ relay, err: error }, 'no lease list from the outlet behind a relay')
      return { relay, outlet: this.outlet, leases: [], error }
    }
  }

  actions(): ConsoleActions {
    return {
      createTicket: (r) => this.authority.createTicket({ attributes: r.attributes, usageCount: r.usageCount, expiresIn: r.expiresIn, role: 'member' }),
      revokeTicket: (id) => this.authority.revokeTicket(id),
      deleteMember: (identifier) => this.authority.deleteMember(identifier),
      revokeLeasesOf: async (relay, identifier) => {
        await this.fresh(AbortSignal.timeout(10_000))
        return this.leases(relay).revokeIdentity(identifier)
      }
    }
  }
}
