import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Duplex } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { Router } from '../../src/routing/router.js'
import { local } from '../../src/routing/address.js'
import type { LocalMessage, SecureChannelInfo } from '../../src/routing/message.js'
import { duplexPair } from '../../src/transport/duplex-pair.js'
import { silentLogger } from '../../src/log/logger.js'
import { encodeCbor } from '../../src/encoding/cbor.js'
import { PortalConnection } from '../../src/portal/portal-connection.js'
import { encodePortalMessage, PORTAL_CHUNK_BYTES, PORTAL_WINDOW_BYTES } from '../../src/portal/portal-message.js'

const CHANNEL = 'channel'
const PEER: SecureChannelInfo = { identifier: 'I-peer', attributes: {}, hasCredential: true, channel: CHANNEL }

/**
 * Stands in for a secure channel: a worker that passes each message on, stamped as having come
 * through it, as a real channel's decryptor does. The portal code under test is the real one.
 */
function channelStandIn(router: Router): void {
  const pass = (m: LocalMessage): void => { router.send({ ...m, onward: m.onward.slice(1), secureChannel: PEER }) }
  router.register(CHANNEL, { handleMessage: pass })
}

interface Pair { a: PortalConnection; b: PortalConnection; outerA: Duplex; outerB: Duplex; closed: Map<string, string> }

/** Two ends of one carried connection, `${name}-a` and `${name}-b`; the test writes and reads the outer ends of their sockets. */
function connectionPair(router: Router, name: string, creditOfA = PORTAL_WINDOW_BYTES): Pair {
  const [innerA, outerA] = duplexPair()
  const [innerB, outerB] = duplexPair()
  const closed = new Map<string, string>()
  const end = (self: string, peer: string, socket: Duplex, initialCredit: number): PortalConnection => new PortalConnection({
    router, log: silentLogger, socket, address: self, peerRoute: [local(CHANNEL), local(peer)], channel: CHANNEL,
    initialCredit, onClose: (reason) => closed.set(self, reason)
  })
  const a = end(`${name}-a`, `${name}-b`, innerA, creditOfA)
  const b = end(`${name}-b`, `${name}-a`, innerB, PORTAL_WINDOW_BYTES)
  a.start()
  b.start()
  return { a, b, outerA, outerB, closed }
}

/** A router with the stand-in channel and one carried connection on it. */
function carried(): Pair & { router: Router } {
  const router = new Router(silentLogger)
  channelStandIn(router)
  return { router, ...connectionPair(router, 'c') }
}

/** The next `bytes` bytes the outer end reads. */
async function received(outer: Duplex, bytes: number): Promise<Buffer> {
  const got: Buffer[] = []
  let n = 0
  await new Promise<void>((resolve) => {
    const take = (chunk: Buffer): void => {
      got.push(chunk)
      n += chunk.byteLength
      if (n < bytes) return
      outer.off('data', take)
      outer.pause()
      resolve()
    }
    outer.on('data', take)
  })
  return Buffer.concat(got)
}

test('bytes cross a carried connection intact and in order, several windows of them, both ways', { timeout: 20_000 }, async () => {
  const p = carried()
  const data = randomBytes(3 * PORTAL_WINDOW_BYTES + 12_345)
  const arriving = received(p.outerB, data.byteLength)
  for (let at = 0; at < data.byteLength; at += 70_000) p.outerA.write(data.subarray(at, at + 70_000))
  assert.ok((await arriving).equals(data))
  const back = randomBytes(100_001)
  const arrivingBack = received(p.outerA, back.byteLength)
  p.outerB.write(back)
  assert.ok((await arrivingBack).equals(back))
  assert.equal(p.a.bytesOut, data.byteLength)
  assert.equal(p.b.bytesIn, data.byteLength)
})

test('a malformed portal message closes that connection and tells the other end; other connections are served on', { timeout: 10_000 }, async () => {
  const router = new Router(silentLogger)
  channelStandIn(router)
  const hit = connectionPair(router, 'hit')
  const other = connectionPair(router, 'other')
  const sent = router.send({ onward: [local(CHANNEL), local('hit-b')], return: [], payload: encodeCbor([9, 'garbage']) })
  assert.equal(sent, true)
  await new Promise((resolve) => setImmediate(resolve))
  assert.match(hit.closed.get('hit-b') ?? '', /malformed portal message: unknown portal message kind 9/)
  assert.match(hit.closed.get('hit-a') ?? '', /closed by the other end: malformed portal message/)
  assert.equal(hit.a.isClosed && hit.b.isClosed, true)
  assert.equal(router.isRegistered('hit-a') || router.isRegistered('hit-b'), false)
  const data = randomBytes(200_000)
  const arriving = received(other.outerB, data.byteLength)
  other.outerA.write(data)
  assert.ok((await arriving).equals(data))
  assert.equal(other.closed.size, 0)
})

test('a message that did not come through the connection\'s secure channel never reaches it', () => {
  const p = carried()
  const forged = [
    { onward: [local('c-b')], return: [], payload: encodeCbor([5, 'forged close']) },
    { onward: [local('c-b')], return: [], payload: encodeCbor([5, 'forged close']), secureChannel: { ...PEER, channel: 'another-channel' } }
  ]
  for (const m of forged) assert.equal(p.router.send(m), false)
  assert.equal(p.router.stats.dropped.denied, 2)
  assert.equal(p.b.isClosed, false)
})

test('credit is honoured: a sender stops at one window while the receiving socket takes nothing, and goes on once it reads', { timeout: 20_000 }, async () => {
  const p = carried()
  const data = randomBytes(4 * PORTAL_WINDOW_BYTES)
  p.outerA.write(data)
  // Nobody reads outerB: what crosses is bounded by the window and what the socket pair buffers.
  await new Promise((resolve) => setTimeout(resolve, 300))
  // The last chunk may overdraw the credit, by less than a chunk.
  assert.ok(p.a.bytesOut < PORTAL_WINDOW_BYTES + PORTAL_CHUNK_BYTES, `sent ${p.a.bytesOut} bytes on a window of ${PORTAL_WINDOW_BYTES}`)
  assert.ok(p.a.bytesOut > 0)
  assert.ok((await received(p.outerB, data.byteLength)).equals(data))
})

test('a half-close waits for the data still waiting for credit, and arrives after all of it', { timeout: 20_000 }, async () => {
  const p = carried()
  const data = randomBytes(3 * PORTAL_WINDOW_BYTES)
  p.outerA.end(data)
  await new Promise((resolve) => setTimeout(resolve, 200))
  const ended = new Promise<number>((resolve) => p.outerB.once('end', () => resolve(p.b.bytesIn)))
  assert.ok((await received(p.outerB, data.byteLength)).equals(data))
  p.outerB.resume()
  assert.equal(await ended, data.byteLength)
  assert.equal(p.closed.size, 0)
})

test('a socket that ends and closes while its last bytes wait for credit still sends them, then its end', { timeout: 20_000 }, async () => {
  const router = new Router(silentLogger)
  channelStandIn(router)
  const p = connectionPair(router, 'late', 0)
  const grant = (bytes: number): boolean => router.send({ onward: [local(CHANNEL), local('late-a')], return: [], payload: encodePortalMessage({ kind: 'credit', bytes }) })
  // The bytes and the end are both read before any credit: as when the server's last bytes and its
  // FIN come in one read while the window is spent.
  const data = randomBytes(PORTAL_CHUNK_BYTES + 12_000)
  p.outerA.end(data)
  await new Promise((resolve) => setImmediate(resolve))
  const arriving = received(p.outerB, data.byteLength)
  grant(1)
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(p.a.bytesOut, PORTAL_CHUNK_BYTES, 'one chunk went on the credit, the rest waits')
  // The other end ends too, so the socket closes in order while 12,000 bytes are still owed.
  p.outerB.end()
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(p.a.isClosed, false, 'the connection waits for credit to send what it owes')
  grant(PORTAL_WINDOW_BYTES)
  assert.ok((await arriving).equals(data))
  const ended = new Promise((resolve) => p.outerB.once('end', resolve))
  p.outerB.resume()
  await ended
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(p.a.isClosed, true)
})
