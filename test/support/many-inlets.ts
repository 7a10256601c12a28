import { decodeTicket } from '../../src/authority/ticket.js'
import { nodeCrypto } from '../../src/crypto/node-crypto.js'
import { authorityClientFor } from '../../src/node/membership.js'
import { outletTarget } from '../../src/node/inlet-route.js'
import { local } from '../../src/routing/address.js'
import { PorticoNode } from '../../src/node/portico-node.js'
import { TcpInlet } from '../../src/portal/tcp-inlet.js'
import type { CredentialAndPurposeKey } from '../../src/identity/credential.js'
import { newIdentity, testLogger } from '../helpers.js'
import type { TestProject } from './project.js'

export interface LightInlet {
  identifier: string
  address: string
  stop(): Promise<void>
}

/**
 * `count` distinct identities, each enrolled with the ticket, holding its own credential and its
 * own TCP inlet through relay `via`: what a fleet of devices looks like to the relay and outlet.
 */
export async function startManyInlets(project: TestProject, ticket: string, count: number, via: string, outlet: string): Promise<LightInlet[]> {
  const p = project.home.project(nodeCrypto, 'default')
  if (p === undefined) throw new Error('no project')
  const code = decodeTicket(ticket).code
  const target = outletTarget({ via, outlet }, p)
  const start = async (): Promise<LightInlet> => {
    const held: { credential?: CredentialAndPurposeKey } = {}
    const node = await PorticoNode.start({
      name: 'device', identity: newIdentity(), log: testLogger('device'), authorities: () => [p.authority], project: p,
      credentials: () => held.credential === undefined ? [] : [held.credential]
    })
    const client = authorityClientFor(node, p)
    await client.enroll(code)
    held.credential = await client.credential()
    const inlet = new TcpInlet({
      router: node.router, log: testLogger('device'), from: '127.0.0.1:0',
      async connect(signal) {
        const r = await node.resolve(target.channel, { signal })
        return { route: [...r, local(target.outlet)], channel: r[0]?.value ?? '' }
      },
      isOpen: (c) => node.channels.has(c),
      discard: (r) => node.closeChain(r.channel, 'not answering')
    })
    const address = await inlet.start()
    return { identifier: node.identifier, address, async stop() { await inlet.stop(); await node.stop() } }
  }
  const inlets: LightInlet[] = []
  // Enroll in waves, as a fleet would, rather than 1,000 handshakes in the same millisecond.
  for (let i = 0; i < count; i += 50) inlets.push(...await Promise.all(Array.from({ length: Math.min(50, count - i) }, start)))
  return inlets
}
