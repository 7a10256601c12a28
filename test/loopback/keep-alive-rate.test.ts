import { after, afterEach, mock, test } from 'node:test'
import assert from 'node:assert/strict'
import { nodeFactory, routeTo, str, text, waitFor } from '../helpers.js'
import { FaultProxy } from '../support/fault-proxy.js'
import { CHANNEL_QUIET_TICKS, CHANNEL_SILENT_TICKS, type SecureChannel } from '../../src/channel/secure-channel.js'
import type { PorticoNode } from '../../src/node/portico-node.js'
import type { Route } from '../../src/routing/address.js'

// How many keep-alives a channel sends, tick by tick: the ticks are driven by hand (Node's mock
// timers replace setInterval only), while the messages cross real loopback TCP between ticks. A
// fleet is mostly idle, so the ping rate is most of what a relay does; it is counted here, not
// timed.

const TICK_MS = 50
const node = nodeFactory(after)
const proxies: FaultProxy[] = []
after(async () => { await Promise.all(proxies.map((p) => p.close())) })
afterEach(() => { mock.timers.reset() })

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 15))

/** Ticks every interval of the nodes once, letting what each tick sends arrive before the next. */
async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    mock.timers.tick(TICK_MS)
    await settle()
  }
}

function channelTo(n: PorticoNode, peer: PorticoNode): SecureChannel {
  const c = [...n.channels.values()].find((ch) => ch.peer.identifier === peer.identifier)
  if (c === undefined) throw new Error(`${n.name} has no channel to ${peer.name}`)
  return c
}

/** Counts the messages a channel encrypts and sends to its peer from now on. */
function countSends(n: PorticoNode, channel: SecureChannel): { readonly count: number } {
  const counter = { count: 0 }
  const send = n.router.sendParts.bind(n.router)
  n.router.sendParts = (m) => {
    if (m.onward === channel.remoteRoute) counter.count++
    return send(m)
  }
  return counter
}

async function pair(name: string, viaProxy = false): Promise<{ a: PorticoNode; b: PorticoNode; route: Route; proxy: FaultProxy | undefined }> {
  mock.timers.enable({ apis: ['setInterval'] })
  const a = await node(`${name}-a`, { keepAliveTickMs: TICK_MS })
  const b = await node(`${name}-b`, { keepAliveTickMs: TICK_MS })
  const proxy = viaProxy ? await FaultProxy.start(b.listenAddress ?? '') : undefined
  if (proxy !== undefined) proxies.push(proxy)
  const route = proxy === undefined ? routeTo(b, '/secure/api/service/echo') : `/ip4/127.0.0.1/tcp/${proxy.port}/secure/api/service/echo`
  const r = await a.resolve(route)
  await waitFor(() => [...b.channels.values()].some((c) => c.peer.identifier === a.identifier), 2000, 'the responder channel')
  return { a, b, route: r, proxy }
}

test('an idle channel carries one ping a tick in all: each side pings once every CHANNEL_QUIET_TICKS ticks', async () => {
  const { a, b } = await pair('rate')
  await ticks(CHANNEL_QUIET_TICKS + 1) // past whatever the handshake sent
  const fromA = countSends(a, channelTo(a, b))
  const fromB = countSends(b, channelTo(b, a))
  const n = 20
  await ticks(n)
  // Every CHANNEL_QUIET_TICKS ticks per side, give or take the one in progress when counting began.
  for (const side of [fromA, fromB]) {
    assert.ok(side.count >= n / CHANNEL_QUIET_TICKS - 1 && side.count <= n / CHANNEL_QUIET_TICKS, `${side.count} pings in ${n} ticks`)
  }
  assert.equal(channelTo(a, b).isClosed, false)
  assert.equal(channelTo(b, a).isClosed, false)
})

test('a side that sends every tick never pings: its own messages tell its peer it is alive', async () => {
  const { a, b, route } = await pair('busy')
  await ticks(CHANNEL_QUIET_TICKS + 1)
  const fromA = countSends(a, channelTo(a, b))
  const fromB = countSends(b, channelTo(b, a))
  const n = 10
  for (let i = 0; i < n; i++) {
    assert.equal(str(await a.send(route, text(`m${i}`))), `m${i}`)
    await ticks(1)
  }
  // The requests and their answers, and not one ping more.
  assert.equal(fromA.count, n)
  assert.equal(fromB.count, n)
})

test('a channel that hears nothing closes at its CHANNEL_SILENT_TICKS-th silent tick, not one before or after', async () => {
  const { a, b, route, proxy } = await pair('bound', true)
  const atA = channelTo(a, b)
  const atB = channelTo(b, a)
  // A request and its answer: each side has just heard the other when the path goes silent.
  assert.equal(str(await a.send(route, text('last'))), 'last')
  proxy?.set({ kind: 'blackhole' })
  await ticks(CHANNEL_SILENT_TICKS - 1)
  assert.equal(atA.isClosed, false)
  assert.equal(atB.isClosed, false)
  await ticks(1)
  assert.equal(atA.isClosed, true)
  assert.equal(atB.isClosed, true)
})
