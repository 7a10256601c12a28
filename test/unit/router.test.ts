import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Router } from '../../src/routing/router.js'
import { local } from '../../src/routing/address.js'
import { step } from '../../src/routing/message.js'
import { silentLogger } from '../../src/log/logger.js'
import { decodeUnreachable, encodeUnreachable } from '../../src/routing/unreachable.js'

test('a full mailbox refuses instead of buffering, and counts the drop', async () => {
  const r = new Router(silentLogger)
  let release!: () => void
  const gate = new Promise<void>((res) => { release = res })
  const handled: number[] = []
  r.register('slow', { handleMessage: async (m) => { await gate; handled.push(m.payload[0] ?? -1) } }, { mailboxCapacity: 3 })
  const results = [0, 1, 2, 3, 4, 5].map((i) => r.send({ onward: [local('slow')], return: [], payload: Uint8Array.of(i) }))
  // The first runs at once; three wait; the rest are refused.
  assert.deepEqual(results, [true, true, true, true, false, false])
  assert.equal(r.stats.dropped.mailboxFull, 2)
  release()
  await new Promise((res) => setTimeout(res, 10))
  assert.deepEqual(handled, [0, 1, 2, 3])
})

test('access control gates are checked before delivery', () => {
  const r = new Router(silentLogger)
  const got: string[] = []
  r.register('guarded', { handleMessage: (m) => { got.push(m.secureChannel?.identifier ?? 'none') } }, {
    incoming: (m) => m.secureChannel?.attributes.role === 'admin'
  })
  const info = (role: string) => ({ identifier: `I-${role}`, attributes: { role }, hasCredential: true, channel: 'sc' })
  assert.equal(r.send({ onward: [local('guarded')], return: [], payload: new Uint8Array(0) }), false)
  assert.equal(r.send({ onward: [local('guarded')], return: [], payload: new Uint8Array(0), secureChannel: info('user') }), false)
  assert.equal(r.send({ onward: [local('guarded')], return: [], payload: new Uint8Array(0), secureChannel: info('admin') }), true)
  assert.deepEqual(got, ['I-admin'])
  assert.equal(r.stats.dropped.denied, 2)
})

test('a worker that throws does not stop its mailbox', () => {
  const r = new Router(silentLogger)
  const got: number[] = []
  r.register('w', { handleMessage: (m) => { if (m.payload[0] === 0) throw new Error('boom'); got.push(m.payload[0] ?? -1) } })
  for (const i of [0, 1, 2]) r.send({ onward: [local('w')], return: [], payload: Uint8Array.of(i) })
  assert.deepEqual(got, [1, 2])
})

test('step pops the onward route and pushes the hop onto the return route', () => {
  const m = step({ onward: [local('a'), local('b')], return: [local('x')], payload: new Uint8Array(0) }, local('a'))
  assert.deepEqual(m.onward.map((a) => a.value), ['b'])
  assert.deepEqual(m.return.map((a) => a.value), ['a', 'x'])
})

test('a message for a worker this node does not have is answered along its return route with a notice, at most once a second per address and sender', async () => {
  const r = new Router(silentLogger)
  const notices: string[] = []
  r.register('sender', { handleMessage: () => assert.fail('a notice went into the message stream'), handleUnreachable: (a) => { notices.push(a) } })
  const passOn: string[] = []
  r.register('plain', { handleMessage: () => { passOn.push('message') } })
  assert.equal(r.send({ onward: [local('gone')], return: [local('sender')], payload: Uint8Array.of(1) }), false)
  assert.equal(r.send({ onward: [local('gone')], return: [local('sender')], payload: Uint8Array.of(2) }), false)
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(notices, ['gone'])
  assert.equal(r.stats.unreachableSent, 1)
  // Another sender (a new handshake, say) learns at once, though the address is the same.
  const others: string[] = []
  r.register('sender-2', { handleMessage: () => assert.fail('a notice went into the message stream'), handleUnreachable: (a) => { others.push(a) } })
  assert.equal(r.send({ onward: [local('gone')], return: [local('sender-2')], payload: Uint8Array.of(3) }), false)
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(others, ['gone'])
  assert.equal(r.stats.unreachableSent, 2)
  // A notice for a missing worker is never answered with another; a worker that does not act on notices never sees one.
  assert.equal(r.send({ onward: [local('also-gone')], return: [local('sender')], payload: encodeUnreachable('x') }), false)
  assert.equal(r.send({ onward: [local('plain')], return: [], payload: encodeUnreachable('y') }), true)
  assert.deepEqual(passOn, [])
  assert.equal(r.stats.unreachableSent, 2)
  assert.equal(decodeUnreachable(encodeUnreachable('sc-in-1234')), 'sc-in-1234')
  assert.equal(decodeUnreachable(Uint8Array.of(0xff, 1, 2)), undefined)
})
