import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ChannelRegistry } from '../../src/node/channel-registry.js'
import { local, tcp, type Route } from '../../src/routing/address.js'
import type { SecureChannel } from '../../src/channel/secure-channel.js'

// What closes with what in a node's channel registry, over stand-in channels that count how often
// the registry looks at their routes: a relay holds thousands, and a close must not look at them all.

class StandIn {
  isClosed = false
  reason: string | undefined
  routeReads = 0
  private readonly handlers: ((reason: string) => void)[] = []

  constructor(readonly address: string, private readonly route: Route, readonly credentialed = true) {}

  get remoteRoute(): Route {
    this.routeReads++
    return this.route
  }

  get senderInfo(): { identifier: string; attributes: Record<string, string>; hasCredential: boolean; channel: string } {
    return { identifier: `I-${this.address}`, attributes: {}, hasCredential: this.credentialed, channel: this.address }
  }

  get peer(): { identifier: string } {
    return { identifier: `I-${this.address}` }
  }

  onClose(fn: (reason: string) => void): void {
    this.handlers.push(fn)
  }

  close(reason: string): void {
    if (this.isClosed) return
    this.isClosed = true
    this.reason = reason
    for (const h of this.handlers) h(reason)
  }
}

const connections = new Set(['conn-1', 'conn-2'])

function registry(...channels: StandIn[]): ChannelRegistry {
  const r = new ChannelRegistry((a) => connections.has(a) || a.startsWith('conn-'))
  for (const c of channels) r.track(c as unknown as SecureChannel)
  return r
}

test('a lost connection closes the channels it carried and the channels inside them, and no other', () => {
  const a = new StandIn('sc-a', [local('conn-1'), local('dec-a')])
  const inner = new StandIn('sc-inner', [local('sc-a'), local('dec-inner')])
  const b = new StandIn('sc-b', [local('conn-2'), local('dec-b')])
  const byAddress = new StandIn('sc-c', [tcp('10.0.0.1:4000'), local('dec-c')])
  const r = registry(a, inner, b, byAddress)
  r.closeVia(local('conn-1'), 'connection lost')
  assert.deepEqual([a.reason, inner.reason, b.isClosed, byAddress.isClosed], ['connection lost', 'outer secure channel closed (connection lost)', false, false])
  assert.deepEqual([...r.channels.keys()], ['sc-b', 'sc-c'])
  r.closeVia(tcp('10.0.0.1:4000'), 'connection lost')
  assert.equal(byAddress.isClosed, true)
  assert.equal(b.isClosed, false)
})

test('a connection\'s peers are those of the open channels it carries', () => {
  const a = new StandIn('sc-a', [local('conn-1'), local('dec-a')])
  const plain = new StandIn('sc-p', [local('conn-1'), local('dec-p')], false)
  const b = new StandIn('sc-b', [local('conn-2'), local('dec-b')], false)
  const r = registry(a, plain, b)
  assert.deepEqual(r.peersOnConnection('conn-1').map((p) => p.channel), ['sc-a', 'sc-p'])
  assert.equal(r.hasCredentialedPeer('conn-1'), true)
  assert.equal(r.hasCredentialedPeer('conn-2'), false)
  a.close('done')
  assert.deepEqual(r.peersOnConnection('conn-1').map((p) => p.channel), ['sc-p'])
  assert.equal(r.hasCredentialedPeer('conn-1'), false)
  assert.deepEqual(r.peersOnConnection('conn-3'), [])
})

test('closing a chain stops at a channel another one still runs over or leans on', () => {
  const project = new StandIn('sc-project', [local('conn-1'), local('dec-project')])
  const relay = new StandIn('sc-relay', [local('sc-project'), local('dec-relay')])
  const outlet = new StandIn('sc-outlet', [local('sc-relay'), local('dec-outlet')])
  const r = registry(project, relay, outlet)
  r.closeChain('sc-outlet', 'rebuilt')
  assert.deepEqual([outlet.isClosed, relay.isClosed, project.isClosed], [true, true, true], 'each was used by the one above only')
  const project2 = new StandIn('sc-project2', [local('conn-2'), local('dec-project2')])
  const first = new StandIn('sc-first', [local('sc-project2'), local('dec-first')])
  const second = new StandIn('sc-second', [local('sc-project2'), local('dec-second')])
  const leaning = new StandIn('sc-leaning', [local('conn-1'), local('dec-leaning')])
  const project3 = new StandIn('sc-project3', [local('conn-1'), local('dec-project3')])
  const r2 = registry(project2, first, second, leaning, project3)
  r2.anchor(leaning as unknown as SecureChannel, project3 as unknown as SecureChannel)
  r2.closeChain('sc-first', 'rebuilt')
  assert.deepEqual([first.isClosed, project2.isClosed, second.isClosed], [true, false, false], 'sc-second still runs over the project channel')
  r2.closeChain('sc-project3', 'rebuilt')
  assert.equal(leaning.isClosed, true, 'a channel anchored to a closed one goes with it')
})

test('a close looks only at the channels over what closed, however many the node holds', () => {
  const many = Array.from({ length: 2000 }, (_, i) => new StandIn(`sc-${i}`, [local(`conn-${i}`), local(`dec-${i}`)]))
  const r = registry(...many)
  for (const c of many) c.routeReads = 0
  for (let i = 0; i < 100; i++) r.closeVia(local(`conn-${i}`), 'connection lost')
  const looked = many.reduce((n, c) => n + c.routeReads, 0)
  assert.equal(many.filter((c) => c.isClosed).length, 100)
  // A scan of every channel at each close would read 100 × 2000 routes.
  assert.ok(looked <= 100 * 2, `${looked} route reads for 100 closes among 2000 channels`)
})
