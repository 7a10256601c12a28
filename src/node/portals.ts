import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import type { Project } from '../authority/project.js'
import { nowSeconds } from '../identity/signed-data.js'
import { policyTrust } from '../policy/trust.js'
import { Policy } from '../policy/policy.js'
import { TcpInlet, type OutletRoute } from '../portal/tcp-inlet.js'
import { TcpOutlet } from '../portal/tcp-outlet.js'
import { RelayRegistration } from '../relay/relay-registration.js'
import { forwarderAddress } from '../relay/relay-service.js'
import type { TcpInletConfig, TcpOutletConfig } from './config.js'
import type { PorticoNode } from './portico-node.js'
import type { ResourcePolicies } from './resource-policies.js'

/** A relay whose node is away drops handshakes silently: give up quickly and try again. */
export const PORTAL_HANDSHAKE_TIMEOUT_MS = 3000

export class PortalError extends Error {
  override name = 'PortalError'
}

export interface PortalsOptions {
  node: PorticoNode
  policies: ResourcePolicies
  log: Logger
  project: Project | undefined
  signal: AbortSignal
}

/** The route an inlet uses: through a relay of the project, or as written. */
export function inletRoute(c: TcpInletConfig, project: Project | undefined): string {
  if (c.to !== undefined) return c.to
  if (project === undefined) throw new PortalError(`inlet via relay '${c.via ?? ''}' needs a project: enroll first`)
  return `/project/${project.name}/service/${forwarderAddress(c.via ?? '')}/secure/api/service/${c.outlet}`
}

/** The node's TCP outlets, inlets and relay registrations, from config or the CLI. */
export class Portals {
  readonly outlets = new Map<string, TcpOutlet>()
  readonly inlets = new Map<string, { inlet: TcpInlet; route: string }>()
  readonly relays = new Map<string, RelayRegistration>()

  constructor(private readonly o: PortalsOptions) {}

  async addOutlet(c: TcpOutletConfig): Promise<Record<string, unknown>> {
    if (this.outlets.has(c.from)) throw new PortalError(`an outlet named '${c.from}' already exists`)
    if (c.allow !== undefined) await this.o.policies.set(c.from, c.allow, nowSeconds())
    let ca: Buffer | undefined
    if (c['tls-ca-file'] !== undefined) {
      try {
        ca = readFileSync(c['tls-ca-file'])
      } catch (err) {
        throw new PortalError(`cannot read tls-ca-file ${c['tls-ca-file']}: ${(err as Error).message}`)
      }
    }
    const outlet = new TcpOutlet({
      router: this.o.node.router, log: this.o.log.child({ outlet: c.from }), address: c.from, to: c.to,
      ...(c.tls ? { tls: { ...(ca !== undefined ? { ca } : {}), ...(c['tls-server-name'] !== undefined ? { servername: c['tls-server-name'] } : {}) } } : {}),
      decide: (msg) => this.o.policies.decide(c.from, 'tcp-outlet', msg)
    })
    outlet.start()
    this.outlets.set(c.from, outlet)
    return outlet.summary()
  }

  async addInlet(c: TcpInletConfig): Promise<Record<string, unknown>> {
    const { node } = this.o
    const route = inletRoute(c, this.o.project)
    const resource = `tcp-inlet:${c.from}`
    if (c.allow !== undefined) await this.o.policies.set(resource, c.allow, nowSeconds())
    const allow = c.allow !== undefined ? Policy.parse(c.allow) : undefined
    const trustPolicy = policyTrust(() => allow ?? this.o.policies.get(resource), { id: resource, type: 'tcp-inlet' })
    let previous: OutletRoute | undefined
    const inlet = new TcpInlet({
      router: node.router, log: this.o.log.child({ inlet: c.from }), from: c.from,
      async connect(signal) {
        // The route being replaced is closed with everything built for it, so rebuilding leaks nothing.
        if (previous !== undefined) node.closeChain(previous.channel, 'route to the outlet replaced')
        const r = await node.resolve(route, { signal, trustPolicy, timeoutMs: PORTAL_HANDSHAKE_TIMEOUT_MS })
        const channel = r[0]?.value
        if (channel === undefined || !node.channels.has(channel)) throw new PortalError(`route ${route} does not start with a secure channel`)
        previous = { route: r, channel }
        return previous
      },
      isOpen: (channel) => node.channels.has(channel),
      discard: (r) => node.closeChain(r.channel, 'the outlet stopped answering')
    })
    const bound = await inlet.start()
    if (this.inlets.has(bound)) {
      await inlet.stop()
      throw new PortalError(`an inlet already listens on ${bound}`)
    }
    this.inlets.set(bound, { inlet, route })
    return { ...inlet.summary(), route }
  }

  addRelay(name: string, at?: string): Record<string, unknown> {
    if (this.relays.has(name)) throw new PortalError(`relay '${name}' is already being registered`)
    const { node, project } = this.o
    if (at === undefined && project === undefined) throw new PortalError('registering a relay needs a project (enroll first) or --at ROUTE')
    const target = at ?? `/project/${project?.name ?? ''}`
    const relay = new RelayRegistration({
      router: node.router, log: this.o.log.child({ relay: name }), name,
      connect: (signal) => node.resolve(target, { signal }),
      closed: (address) => new Promise((resolve) => {
        const c = node.channels.get(address)
        if (c === undefined) resolve('channel already closed')
        else c.onClose(resolve)
      })
    })
    relay.start(this.o.signal)
    this.relays.set(name, relay)
    return relay.summary()
  }

  show(): Record<string, unknown> {
    return {
      tcpOutlets: [...this.outlets.values()].map((o) => o.summary()),
      tcpInlets: [...this.inlets.values()].map(({ inlet, route }) => ({ ...inlet.summary(), route })),
      relays: [...this.relays.values()].map((r) => r.summary())
    }
  }

  async stop(): Promise<void> {
    for (const o of this.outlets.values()) o.stop()
    await Promise.all([...this.inlets.values()].map(({ inlet }) => inlet.stop()))
  }
}
