import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { nodeFactory, routeTo, str, text, waitFor } from '../helpers.js'
import { FaultProxy } from '../support/fault-proxy.js'
import { CHANNEL_SILENT_TICKS } from '../../src/channel/secure-channel.js'
import type { PorticoNode } from '../../src/node/portico-node.js'

// Secure channel keep-alives, with the tick shortened to 50 ms so the bounds (CHANNEL_SILENT_TICKS silent ticks) are
// reached in a fraction of a second. The silent path is a real TCP proxy that stops reading.

const TICK_MS = 50
const node = nodeFactory(after)
const proxies: FaultProxy[] = []
after(async () => { await Promise.all(proxies.map((p) => p.close())) })

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function viaProxy(name: string): Promise<{ a: PorticoNode; b: PorticoNode; proxy: FaultProxy; route: string }> {
  const a = await node(`${name}-a`, { keepAliveTickMs: TICK_MS })
  const b = await node(`${name}-b`, { keepAliveTickMs: TICK_MS })
  const proxy = await FaultProxy.start(b.listenAddress ?? '')
  proxies.push(proxy)
  return { a, b, proxy, route: `/ip4/127.0.0.1/tcp/${proxy.port}/secure/api/service/echo` }
}

function channelTo(n: PorticoNode, peer: PorticoNode): ReturnType<PorticoNode['channels']['get']> {
  return [...n.channels.values()].find((c) => c.peer.identifier === peer.identifier)
}

test('an idle channel stays open at both ends: each side pings when it has sent nothing for two ticks', async () => {
  const a = await node('idle-a', { keepAliveTickMs: TICK_MS })
  const b = await node('idle-b', { keepAliveTickMs: TICK_MS })
  const route = await a.resolve(routeTo(b, '/secure/api/service/echo'))
  await waitFor(() => channelTo(b, a) !== undefined, 2000, 'the responder channel')
  await sleep(TICK_MS * CHANNEL_SILENT_TICKS * 4)
  assert.equal(channelTo(a, b)?.isClosed, false)
  assert.equal(channelTo(b, a)?.isClosed, false)
  assert.equal(str(await a.send(route, text('still here'))), 'still here')
})

test('a channel whose path goes silent closes at both ends within its bound, and a new one opens once the path is back', async (t) => {
  const { a, b, proxy, route } = await viaProxy('silent')
  await a.resolve(route)
  await waitFor(() => channelTo(b, a) !== undefined, 2000, 'the responder channel')
  const reasons = Promise.all([a, b].map((n) => new Promise<string>((resolve) => channelTo(n, n === a ? b : a)?.onClose(resolve))))
  const t0 = Date.now()
  proxy.set({ kind: 'blackhole' })
  const [atA, atB] = await reasons
  t.diagnostic(`closed ${Date.now() - t0} ms after the path went silent (bound: ${CHANNEL_SILENT_TICKS} ticks of ${TICK_MS} ms)`)
  // The channels' own keep-alive closed them (the connection's heartbeat, 10 s and more, would
  // give another reason): at each end, after CHANNEL_SILENT_TICKS ticks without a message.
  const expected = `the peer was silent for ${(CHANNEL_SILENT_TICKS - 1) * TICK_MS} ms or more`
  assert.equal(atA, expected)
  assert.equal(atB, expected)
  // The TCP connection itself is still open (its own heartbeats work on seconds): only the channels knew.
  assert.equal(proxy.connections, 1)
  proxy.set({ kind: 'pass' })
  const again = await a.resolve(route)
  assert.equal(str(await a.send(again, text('back'))), 'back')
})

test('a slow path that still delivers keeps the channel open', async () => {
  const { a, b, proxy, route } = await viaProxy('slow')
  const r = await a.resolve(route)
  proxy.set({ kind: 'delay', ms: TICK_MS })
  await sleep(TICK_MS * CHANNEL_SILENT_TICKS * 3)
  assert.equal(channelTo(a, b)?.isClosed, false)
  assert.equal(str(await a.send(r, text('slowly'))), 'slowly')
})

test('a reset path closes the channels at once, with the connection, and a new one opens', async () => {
  const { a, b, proxy, route } = await viaProxy('reset')
  await a.resolve(route)
  await waitFor(() => channelTo(b, a) !== undefined, 2000, 'the responder channel')
  const closed = new Promise<string>((resolve) => channelTo(a, b)?.onClose(resolve))
  proxy.set({ kind: 'reset' })
  assert.match(await closed, /connection lost/)
  proxy.set({ kind: 'pass' })
  const again = await a.resolve(route)
  assert.equal(str(await a.send(again, text('after reset'))), 'after reset')
})
