import { mock, test } from 'node:test'
import assert from 'node:assert/strict'
import { OutletChannel, OUTLET_REOPEN_SPREAD_MS, OUTLET_RETRY_MIN_MS } from '../../src/node/outlet-channel.js'
import { silentLogger } from '../../src/log/logger.js'
import type { PorticoNode } from '../../src/node/portico-node.js'
import type { TrustPolicy } from '../../src/channel/trust-policy.js'
import { waitFor } from '../helpers.js'

/**
 * Just what an OutletChannel asks of its node: channels that can be opened (each resolve opens
 * one, at the time recorded) and closed with a reason told to their listeners.
 */
class FakeNode {
  readonly opened: number[] = []
  /** While set, every attempt fails, as with the relay down. */
  failing = false
  readonly channels = new Map<string, { onClose: (fn: () => void) => () => void; listeners: (() => void)[] }>()
  private next = 0

  resolve(): Promise<{ value: string }[]> {
    if (this.failing) return Promise.reject(new Error('the relay is down'))
    const id = `channel-${String(this.next++)}`
    const listeners: (() => void)[] = []
    this.channels.set(id, { listeners, onClose: (fn) => { listeners.push(fn); return () => undefined } })
    this.opened.push(performance.now())
    return Promise.resolve([{ value: id }, { value: 'outlet' }])
  }

  closeChain(id: string): void {
    const ch = this.channels.get(id)
    this.channels.delete(id)
    for (const fn of ch?.listeners ?? []) fn()
  }

  closeAll(): void {
    for (const id of [...this.channels.keys()]) this.closeChain(id)
  }
}

const target = { channel: [], outlet: 'outlet' }
const anyone = (() => Promise.resolve(true)) as unknown as TrustPolicy

test('inlets whose channels all close at once open new ones spread over time, not in one burst', async () => {
  const node = new FakeNode()
  const life = new AbortController()
  const inlets = Array.from({ length: 20 }, () => new OutletChannel(node as unknown as PorticoNode, target, anyone, silentLogger))
  for (const i of inlets) void i.keepOpen(life.signal)
  try {
    await waitFor(() => node.opened.length === inlets.length, 5000, 'every inlet opened its route')
    const closedAt = performance.now()
    node.closeAll()
    await waitFor(() => node.opened.length === 2 * inlets.length, OUTLET_REOPEN_SPREAD_MS + 5000, 'every inlet opened its route again')
    const reopened = node.opened.slice(inlets.length).map((t) => t - closedAt)
    // Twenty waits drawn at random over the spread: they do not fall within a tenth of it.
    assert.ok(Math.max(...reopened) - Math.min(...reopened) > OUTLET_REOPEN_SPREAD_MS / 10, `reopened after ${reopened.map((t) => t.toFixed(0)).join(', ')} ms`)
    assert.ok(Math.max(...reopened) < OUTLET_REOPEN_SPREAD_MS + 1000)
  } finally {
    life.abort()
  }
})

test('a client that comes while its inlet waits to reopen gets a new channel at once', async () => {
  const node = new FakeNode()
  const life = new AbortController()
  const inlet = new OutletChannel(node as unknown as PorticoNode, target, anyone, silentLogger)
  void inlet.keepOpen(life.signal)
  try {
    const first = await inlet.get()
    node.closeAll()
    const second = await inlet.get()
    assert.notEqual(second.channel, first.channel)
    assert.equal(inlet.notOpen(), undefined)
  } finally {
    life.abort()
  }
})

test('a client refused while its inlet waits to reopen brings the next attempt forward, as during a backoff', async () => {
  // The clock and timers are driven by hand, and the wait is drawn near its longest.
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 })
  mock.method(Math, 'random', () => 0.99)
  const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r)) }
  const node = new FakeNode()
  const life = new AbortController()
  const inlet = new OutletChannel(node as unknown as PorticoNode, target, anyone, silentLogger)
  void inlet.keepOpen(life.signal)
  try {
    await settle()
    assert.equal(node.opened.length, 1)
    // The relay goes: the channel closes, and a client's own attempt fails.
    node.failing = true
    node.closeAll()
    await assert.rejects(inlet.get())
    assert.notEqual(inlet.down(), undefined)
    // The relay is back; the next client, OUTLET_RETRY_MIN_MS later, is answered from the failure
    // but wakes the inlet, which opens its route now, not at the end of its wait.
    node.failing = false
    mock.timers.tick(OUTLET_RETRY_MIN_MS)
    assert.notEqual(inlet.down(), undefined)
    await settle()
    assert.equal(node.opened.length, 2)
    assert.equal(inlet.down(), undefined)
    assert.equal(inlet.notOpen(), undefined)
  } finally {
    life.abort()
    mock.timers.reset()
    mock.restoreAll()
  }
})
