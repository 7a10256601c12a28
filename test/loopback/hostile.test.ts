import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { once } from 'node:events'
import { nodeFactory, routeTo, text, str, newIdentity, waitFor } from '../helpers.js'
import { local, tcp } from '../../src/routing/address.js'
import { encodeMessage, step, type LocalMessage } from '../../src/routing/message.js'
import type { LocalIdentity } from '../../src/identity/local-identity.js'
import type { PorticoNode } from '../../src/node/portico-node.js'
import type { SecureChannel } from '../../src/channel/secure-channel.js'
import { nodeCrypto } from '../../src/crypto/node-crypto.js'
import { frameHeader, MAX_FRAME_SIZE, PROTOCOL_VERSION } from '../../src/transport/frame-decoder.js'

const node = nodeFactory(after)

/** Sends raw bytes to a node and resolves when the node closes the connection. */
async function rawSession(n: PorticoNode, bytes: Uint8Array): Promise<void> {
  const [host, port] = (n.listenAddress ?? '').split(':')
  const s = connect({ host: host ?? '', port: Number(port) })
  s.on('error', () => undefined)
  await once(s, 'connect')
  s.write(bytes)
  s.resume()
  await once(s, 'close')
}

async function stillServes(b: PorticoNode): Promise<void> {
  const a = await node(`probe-${Math.random()}`)
  const route = await a.resolve(routeTo(b, '/secure/api/service/echo'))
  assert.equal(str(await a.send(route, text('alive'))), 'alive')
}

test('garbage, a wrong version, an oversized frame and a bad frame each close the connection; the node keeps serving', async () => {
  const b = await node('b')
  await rawSession(b, Buffer.from('GET / HTTP/1.1\r\n\r\n'))
  await rawSession(b, Buffer.from([1, 0xff, 0xff, 0xff, 0xff]))
  await rawSession(b, Buffer.from([1, 0, 0, 0, 3, 0xde, 0xad, 0xbe]))
  await rawSession(b, Buffer.from([1, 0, 0, 0, 4, 0x83, 0x80, 0x80, 0x1f]))
  await stillServes(b)
})

test('truncated frames hold no more than the bytes received, and the peer can still be served', async () => {
  const b = await node('bt')
  const [host, port] = (b.listenAddress ?? '').split(':')
  const s = connect({ host: host ?? '', port: Number(port) })
  s.on('error', () => undefined)
  await once(s, 'connect')
  // A header that claims the largest frame allowed, and one byte of it.
  const header = Buffer.alloc(5)
  header[0] = 1
  header.writeUInt32BE(MAX_FRAME_SIZE, 1)
  s.write(Buffer.concat([header, Buffer.from([0x83])]))
  await waitFor(() => b.tcp.list().some((c) => c.direction === 'in' && c.pendingBytes === 5), 5000, 'the truncated frame held')
  assert.ok(b.tcp.list().every((c) => c.pendingBytes <= 5), 'more held than was received')
  await stillServes(b)
  s.destroy()
})

test('garbage handshake messages to the listener are dropped; the node keeps serving', async () => {
  const b = await node('bh')
  const a = await node('ah')
  for (const payload of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(32), new Uint8Array(200).fill(7), new Uint8Array(70000)]) {
    a.router.send({ onward: [tcp(b.listenAddress ?? ''), local('api')], return: [], payload })
  }
  await stillServes(b)
})

/** A worker on the path that can flip bits in or duplicate what it forwards. */
function interceptor(n: PorticoNode, mode: { tamper: boolean; replay: boolean }): string {
  n.router.register('mitm', {
    handleMessage(msg: LocalMessage) {
      const next = step(msg, local('mitm'))
      if (mode.tamper) {
        const p = Uint8Array.from(next.payload)
        p[p.length - 1]! ^= 1
        n.router.send({ ...next, payload: p })
        return
      }
      n.router.send(next)
      if (mode.replay) n.router.send(next)
    }
  })
  return 'mitm'
}

/** A channel from a to b whose every message crosses the interceptor on a. */
async function channelThroughInterceptor(a: PorticoNode, b: PorticoNode): Promise<{ mode: { tamper: boolean; replay: boolean }; ch: SecureChannel }> {
  const mode = { tamper: false, replay: false }
  interceptor(a, mode)
  const ch = await a.createSecureChannel([local('mitm'), tcp(b.listenAddress ?? ''), local('api')])
  return { mode, ch }
}

test('tampered ciphertext closes the channel at the receiver with a clear reason', async () => {
  const a = await node('at')
  const b = await node('bt2')
  const { mode, ch } = await channelThroughInterceptor(a, b)
  assert.equal(str(await a.send([local(ch.address), local('echo')], text('clean'))), 'clean')
  const closed = new Promise<string>((resolve) => {
    const bc = [...b.channels.values()][0]
    bc?.onClose(resolve)
  })
  mode.tamper = true
  await assert.rejects(a.send([local(ch.address), local('echo')], text('dirty'), { timeoutMs: 500 }), { name: 'RequestTimeoutError' })
  assert.match(await closed, /AuthenticationError/)
  await stillServes(b)
})

test('a replayed transport message is rejected and closes the channel', async () => {
  const a = await node('ar')
  const b = await node('br')
  const { mode, ch } = await channelThroughInterceptor(a, b)
  const closed = new Promise<string>((resolve) => { [...b.channels.values()][0]?.onClose(resolve) })
  mode.replay = true
  assert.equal(str(await a.send([local(ch.address), local('echo')], text('once'))), 'once')
  // Bounded: a replay that were accepted would leave the channel open, and this must fail, not hang.
  const reason = await Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000))])
  assert.match(reason, /ReplayError/)
})

test('a peer presenting another identity (its attestation does not match its Noise key) is refused', async () => {
  const victim = newIdentity()
  const evilIdentity = newIdentity()
  // The impostor shows the victim's identity and attestation but can only use its own static key.
  const impostor = Object.create(evilIdentity) as LocalIdentity
  Object.defineProperty(impostor, 'identity', { get: () => victim.identity })
  impostor.secureChannelKey = () => ({ key: nodeCrypto.x25519Generate(), attestation: victim.secureChannelKey().attestation })
  const evil = await node('evil', { identity: impostor })
  const a = await node('am')
  await assert.rejects(a.resolve(routeTo(evil, '/secure/api/service/echo')), { name: 'UnexpectedPeerError' })
  // And as initiator, the impostor is refused by an honest responder.
  const b = await node('bm')
  await assert.rejects(evil.resolve(routeTo(b, '/secure/api/service/echo')), /did not attest the Noise static key/)
  await waitFor(() => b.listChannels().length === 0)
})

test('a frame from the network naming a channel\'s encryptor is refused: nobody speaks into a channel as the node that holds it', async () => {
  const a = await node('spoof-a')
  const b = await node('spoof-b')
  await a.resolve(routeTo(b, '/secure/api/service/echo'))
  await waitFor(() => b.channels.size === 1, 2000, 'responder channel')
  const theirs = [...b.channels.values()][0]
  if (theirs === undefined) throw new Error('no channel')
  const heard: LocalMessage[] = []
  a.router.register('spy', { handleMessage: (m) => { heard.push(m) } })
  // From b's own side the path works: the spy hears b, vouched for by the channel.
  b.router.send({ onward: [local(theirs.address), local('spy')], return: [], payload: text('from b itself') })
  await waitFor(() => heard.length === 1, 2000, 'the spy to hear b')
  assert.equal(heard[0]?.secureChannel?.identifier, b.identifier)
  // A stranger who learned the encryptor's address sends the same over a plain TCP connection to b.
  const denied = b.router.stats.dropped.denied
  const [host, port] = (b.listenAddress ?? '').split(':')
  const s = connect({ host: host ?? '', port: Number(port) })
  s.on('error', () => undefined)
  await once(s, 'connect')
  const body = encodeMessage({ onward: [local(theirs.address), local('spy')], return: [], payload: text('forged') })
  s.write(Buffer.concat([Uint8Array.of(PROTOCOL_VERSION), frameHeader(body.byteLength), body]))
  await waitFor(() => b.router.stats.dropped.denied > denied, 2000, 'the forged frame refused')
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(heard.length, 1)
  assert.equal(theirs.isClosed, false)
  s.destroy()
})
