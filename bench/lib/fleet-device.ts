import { Agent, request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Project } from '../../src/authority/project.js'
import { nodeCrypto } from '../../src/crypto/node-crypto.js'
import type { CredentialAndPurposeKey } from '../../src/identity/credential.js'
import { LocalIdentity } from '../../src/identity/local-identity.js'
import { MemoryVault } from '../../src/identity/vault.js'
import { LeaseClient, leaseRoute } from '../../src/influxdb/leases/lease-service.js'
import type { Logger } from '../../src/log/logger.js'
import { InfluxdbInletConfig } from '../../src/node/config.js'
import { authorityClientFor } from '../../src/node/membership.js'
import { Portals } from '../../src/node/portals.js'
import { PorticoNode } from '../../src/node/portico-node.js'
import type { ResourcePolicies } from '../../src/node/resource-policies.js'
import type { LeaseRepository } from '../../src/store/store.js'

/** What every device of a fleet process shares: the project, the enrollment ticket's code, where its outlet is. */
export interface FleetContext {
  project: Project
  code: Uint8Array
  relay: string
  outlet: string
  policies: ResourcePolicies
  leases: LeaseRepository
  signal: AbortSignal
  /** Where the process's devices log their warnings (channels gone silent, answers cut short). */
  log: Logger
}

/** Points in each device's batch. */
export const DEVICE_BATCH_POINTS = 10
/**
 * Node's agent honours a server's `Keep-Alive: timeout=` hint only when it has a timeout of its own
 * (Node 20's keepSocketAlive); without one it keeps an idle connection past the inlet's 5 s and may
 * send the next write on it as the inlet closes it ("socket hang up"), which a device process that
 * falls seconds behind makes likely.
 */
const agent = new Agent({ keepAlive: true, timeout: 60_000 })

/**
 * One device of the fleet, as a real one is built: its own identity enrolled with the ticket, its
 * own credential, and its own InfluxDB inlet (the node's own code: secure channel through the relay
 * to the outlet, lease obtained and injected), which it writes a small batch to now and then.
 */
export class FleetDevice {
  private writes = 0

  private constructor(readonly index: number, private readonly node: PorticoNode, private readonly portals: Portals, readonly address: string) {}

  static async start(ctx: FleetContext, index: number): Promise<FleetDevice> {
    const { project } = ctx
    const held: { credential?: CredentialAndPurposeKey } = {}
    const node = await PorticoNode.start({
      name: `device-${index}`, identity: LocalIdentity.create(nodeCrypto, new MemoryVault()), log: ctx.log, authorities: () => [project.authority], project,
      credentials: () => held.credential === undefined ? [] : [held.credential]
    })
    try {
      const client = authorityClientFor(node, project)
      await client.enroll(ctx.code, ctx.signal)
      held.credential = await client.credential(ctx.signal)
      const portals = new Portals({ node, policies: ctx.policies, log: ctx.log, project, signal: ctx.signal, leases: ctx.leases })
      const { from } = await portals.addInfluxdbInlet(InfluxdbInletConfig.parse({ from: '127.0.0.1:0', via: ctx.relay, outlet: ctx.outlet })) as { from: string }
      return new FleetDevice(index, node, portals, from)
    } catch (err) {
      await node.stop()
      throw err
    }
  }

  private get inlet(): NonNullable<ReturnType<Portals['influxdbInlets']['get']>> {
    const i = this.portals.influxdbInlets.get(this.address)
    if (i === undefined) throw new Error('the device has no influxdb inlet')
    return i
  }

  /**
   * Resolves once the inlet holds its lease, asking again after each failure when its keeper's
   * backoff allows, as the inlet itself does; resolves with the failed requests.
   */
  async leased(signal: AbortSignal): Promise<number> {
    const { keeper } = this.inlet
    for (;;) {
      try {
        await keeper.get('shared')
        return keeper.failures
      } catch (err) {
        if (signal.aborted) throw err
        await sleep((keeper.retryAfterMs('shared') ?? 0) + 10, undefined, { signal })
      }
    }
  }

  /** One lease from another influxdb outlet of the same node, over the channel the inlet already holds. */
  async leaseFrom(outlet: string, signal: AbortSignal): Promise<void> {
    const { channel } = this.inlet
    await new LeaseClient(this.node.router, async () => {
      const r = await channel.get(signal)
      return { route: leaseRoute(r.route, outlet), closed: channel.closedSignal(r.channel) }
    }).create(signal)
  }

  /** Writes one batch through the inlet, with no credential of its own; resolves with the milliseconds it took. */
  write(): Promise<number> {
    const n = this.writes++
    const now = Date.now()
    const body = Array.from({ length: DEVICE_BATCH_POINTS }, (_, i) => `fleet,device=d${this.index} seq=${n}i,v=${i} ${now}${String(i).padStart(6, '0')}`).join('\n')
    const [host, port] = this.address.split(':')
    const t = process.hrtime.bigint()
    return new Promise((resolve, reject) => {
      const req = request({ host, port: Number(port), method: 'POST', path: '/write?db=fleet', agent, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode === 204) resolve(Number(process.hrtime.bigint() - t) / 1e6)
          else reject(new Error(`status ${String(res.statusCode)}`))
        })
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  async stop(): Promise<void> {
    await this.portals.stop()
    await this.node.stop()
  }
}
