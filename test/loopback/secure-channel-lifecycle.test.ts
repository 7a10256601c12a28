import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { nodeFactory, routeTo, newIdentity, waitFor } from '../helpers.js'
import { trustAuthority } from '../../src/channel/trust-policy.js'
import type { SecureChannel } from '../../src/channel/secure-channel.js'
import type { PorticoNode } from '../../src/node/portico-node.js'
import { local } from '../../src/routing/address.js'

// What a channel tells its users as it lives and ends: the reasons its close handlers get, who is
// told, what it says about its peer, and messages that arrive in pieces.
const node = nodeFactory(after)

async function pair(name: string, extra: Parameters<typeof node>[1] = {}): Promise<{ a: PorticoNode; b: PorticoNode; ours: SecureChannel; theirs: SecureChannel }> {
  const b = await node(`${name}-b`, extra)
  const a = await node(`${name}-a`)
  await a.resolve(routeTo(b, '/secure/api/service/echo'))
  await waitFor(() => b.channels.size === 1, 2000, 'responder channel')
  const ours = [...a.channels.values()][0]
  const theirs = [...b.channels.values()][0]
  if (ours === undefined || theirs === undefined) throw new Error('no channel')
  return { a, b, ours, theirs }
}

/** The promise's value, or a word that it had none within `ms` (a test that would hang fails instead). */
const within = (p: Promise<string>, ms: number): Promise<string> => Promise.race([p, new Promise<string>((resolve) => setTimeout(() => resolve(`nothing within ${ms} ms`), ms).unref())])
const reasonOf = (c: SecureChannel): Promise<string> => new Promise((resolve) => { c.onClose(resolve) })
const stillOpenAfter = async (c: SecureChannel, ms: number): Promise<boolean> => {
  await new Promise((r) => setTimeout(r, ms))
  return !c.isClosed
}

test('a local close gives its handlers "closed locally" and the peer\'s "closed by peer: …"; a second close changes nothing', async () => {
  const { ours, theirs } = await pair('close')
  const mine = reasonOf(ours)
  const peer = reasonOf(theirs)
  let calls = 0
  ours.onClose(() => { calls++ })
  ours.close()
  ours.close('again')
  assert.equal(await mine, 'closed locally')
  assert.equal(await peer, 'closed by peer: closed locally')
  assert.equal(calls, 1)
  assert.equal(ours.isClosed, true)
})

test('onClose: after the close it is told at once; an unsubscribed handler is not run; one function given twice runs twice', async () => {
  const { ours } = await pair('handlers')
  const runs: string[] = []
  const handler = (r: string): void => { runs.push(r) }
  ours.onClose(handler)
  ours.onClose(handler)
  const stop = ours.onClose(() => runs.push('unsubscribed'))
  stop()
  ours.close('done')
  assert.deepEqual(runs, ['done', 'done'])
  let late = ''
  ours.onClose((r) => { late = r })
  assert.equal(late, 'already closed')
})

test('a notice that a hop of the route to the peer is gone closes the channel without a word to the peer; any other address leaves it open', async () => {
  const { ours, theirs } = await pair('notice')
  ours.farEndGone('not-a-hop-of-this-channel')
  assert.equal(await stillOpenAfter(ours, 50), true)
  const hop = ours.remoteRoute.at(-1)?.value ?? ''
  const reason = reasonOf(ours)
  ours.farEndGone(hop)
  assert.equal(await within(reason, 5000), `the far end is gone: ${hop} is not there`)
  // The peer is not sent a close over a path that is gone.
  assert.equal(await stillOpenAfter(theirs, 200), true)
})

test('a message that does not decrypt closes the channel, without a close sent back over it', async () => {
  const { ours, theirs } = await pair('garbage')
  const reason = reasonOf(theirs)
  // Bytes on the decryptor's address that are not a transport message of this channel.
  const r = theirs.receive({ onward: [], return: [], payload: randomBytes(64) })
  assert.equal(r, undefined)
  assert.match(await reason, /^rejected a bad message: /)
  assert.equal(await stillOpenAfter(ours, 200), true)
})

test('summary and sender info describe the peer: identifier, attributes, whether it holds a credential, the route back', async () => {
  const authority = newIdentity()
  const member = newIdentity()
  const b = await node('info-b', { listenerTrust: trustAuthority(authority.identifier), authorities: () => [authority.identity] })
  const a = await node('info-a', { identity: member, credentials: () => [authority.issueCredential(member.identity, { site: 'seven' }, { ttlSeconds: 3600 })] })
  await a.resolve(routeTo(b, '/secure/api/service/echo'))
  await waitFor(() => b.channels.size === 1, 2000, 'responder channel')
  const theirs = [...b.channels.values()][0]
  const ours = [...a.channels.values()][0]
  assert.ok(theirs !== undefined && ours !== undefined)
  const s = theirs.summary()
  assert.equal(s.role, 'responder')
  assert.equal(s.peer, member.identifier)
  assert.deepEqual(s.attributes, { site: 'seven' })
  assert.ok(s.remoteRoute.length > 0 && !Number.isNaN(Date.parse(s.openedAt)))
  assert.deepEqual(theirs.senderInfo, { identifier: member.identifier, attributes: { site: 'seven' }, hasCredential: true, channel: theirs.address })
  // b holds no credential: a's channel says so.
  assert.equal(ours.senderInfo.hasCredential, false)
  assert.equal(ours.summary().role, 'initiator')
})

test('a credential valid for longer than a timer can wait (about 24.8 days) keeps the channel open', async () => {
  const authority = newIdentity()
  const member = newIdentity()
  const b = await node('long-b', { listenerTrust: trustAuthority(authority.identifier), authorities: () => [authority.identity] })
  const a = await node('long-a', { identity: member, credentials: () => [authority.issueCredential(member.identity, {}, { ttlSeconds: 30 * 24 * 3600 })] })
  await a.resolve(routeTo(b, '/secure/api/service/echo'))
  await waitFor(() => b.channels.size === 1, 2000, 'responder channel')
  const theirs = [...b.channels.values()][0]
  assert.ok(theirs !== undefined)
  assert.equal(await stillOpenAfter(theirs, 300), true)
})

test('messages far larger than a socket read arrive whole and in order, many at once, in both directions', async () => {
  const { a, b } = await pair('large')
  const route = await a.resolve(routeTo(b, '/secure/api/service/echo'))
  const payloads = Array.from({ length: 24 }, (_, i) => randomBytes(150_000 + i))
  const answers = await Promise.all(payloads.map((p) => a.send(route, p)))
  answers.forEach((answer, i) => assert.ok(Buffer.from(answer).equals(payloads[i] ?? Buffer.alloc(0)), `message ${i} changed`))
  assert.ok(a.router.stats.deliveredInParts + b.router.stats.deliveredInParts > 0, 'some arrived in pieces')
})

test('a channel lives as long as the earliest of its peer\'s credentials: open until then, closed after it', async () => {
  const authority = newIdentity()
  const member = newIdentity()
  const b = await node('expiry-b', { listenerTrust: trustAuthority(authority.identifier), authorities: () => [authority.identity] })
  // Two credentials: one for 3 s (2 to 3 s left, expiry being in whole seconds), one for an hour.
  const a = await node('expiry-a', {
    identity: member,
    credentials: () => [authority.issueCredential(member.identity, {}, { ttlSeconds: 3 }), authority.issueCredential(member.identity, {}, { ttlSeconds: 3600 })]
  })
  await a.resolve(routeTo(b, '/secure/api/service/echo'))
  await waitFor(() => b.channels.size === 1, 2000, 'responder channel')
  const theirs = [...b.channels.values()][0]
  assert.ok(theirs !== undefined)
  const reason = reasonOf(theirs)
  assert.equal(await stillOpenAfter(theirs, 1500), true)
  assert.equal(await within(reason, 10_000), 'peer credential expired without refresh')
})

test('a message to a peer whose decryptor is gone brings back a notice that closes the channel at once', async () => {
  const { a, ours, theirs } = await pair('gone')
  const hop = ours.remoteRoute.at(-1)?.value ?? ''
  const reason = reasonOf(ours)
  // The peer's end goes without a word (as after a crash of its channel), its connection stays up.
  theirs.close('dropped', false)
  a.router.send({ onward: [local(ours.address), local('echo')], return: [], payload: new Uint8Array([1]) })
  assert.equal(await within(reason, 5000), `the far end is gone: ${hop} is not there`)
})
