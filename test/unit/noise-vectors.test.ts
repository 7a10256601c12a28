import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { nodeCrypto } from '../../src/crypto/node-crypto.js'
import { HandshakeXX } from '../../src/channel/noise/handshake-xx.js'
import { CipherState } from '../../src/channel/noise/cipher-state.js'
import { fromHex, toHex } from '../../src/encoding/hex.js'

interface Vector {
  protocol_name: string
  init_prologue: string
  init_static: string
  init_ephemeral: string
  resp_prologue: string
  resp_static: string
  resp_ephemeral: string
  handshake_hash: string
  messages: { payload: string; ciphertext: string }[]
}

const vectors = (JSON.parse(readFileSync(new URL('../fixtures/vectors/cacophony-25519.json', import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors
const xx = vectors.find((v) => v.protocol_name === 'Noise_XX_25519_AESGCM_SHA256')

test('Noise_XX_25519_AESGCM_SHA256 reproduces the cacophony vector byte for byte', () => {
  assert.ok(xx)
  const c = nodeCrypto
  const initiator = new HandshakeXX(c, {
    role: 'initiator',
    prologue: fromHex(xx.init_prologue),
    staticKey: c.x25519FromSecret(fromHex(xx.init_static)),
    ephemeralKey: c.x25519FromSecret(fromHex(xx.init_ephemeral))
  })
  const responder = new HandshakeXX(c, {
    role: 'responder',
    prologue: fromHex(xx.resp_prologue),
    staticKey: c.x25519FromSecret(fromHex(xx.resp_static)),
    ephemeralKey: c.x25519FromSecret(fromHex(xx.resp_ephemeral))
  })
  const [m0, m1, m2, ...transport] = xx.messages
  assert.ok(m0 && m1 && m2)

  const a = initiator.writeMessageA(fromHex(m0.payload))
  assert.equal(toHex(a), m0.ciphertext)
  assert.equal(toHex(responder.readMessageA(a)), m0.payload)

  const b = responder.writeMessageB(fromHex(m1.payload))
  assert.equal(toHex(b), m1.ciphertext)
  assert.equal(toHex(initiator.readMessageB(b)), m1.payload)

  const cMsg = initiator.writeMessageC(fromHex(m2.payload))
  assert.equal(toHex(cMsg), m2.ciphertext)
  assert.equal(toHex(responder.readMessageC(cMsg)), m2.payload)

  const ri = initiator.result()
  const rr = responder.result()
  assert.equal(toHex(ri.handshakeHash), xx.handshake_hash)
  assert.equal(toHex(rr.handshakeHash), xx.handshake_hash)
  assert.equal(toHex(ri.remoteStatic), toHex(c.x25519FromSecret(fromHex(xx.resp_static)).publicKey))

  // After the handshake the vector alternates: responder, initiator, responder (implicit nonces).
  const send = { initiator: new CipherState(c, ri.sendKey), responder: new CipherState(c, rr.sendKey) }
  const recv = { initiator: new CipherState(c, ri.receiveKey), responder: new CipherState(c, rr.receiveKey) }
  transport.forEach((m, i) => {
    const from = i % 2 === 0 ? 'responder' : 'initiator'
    const to = from === 'responder' ? 'initiator' : 'responder'
    const ct = send[from].encryptWithAd(new Uint8Array(0), fromHex(m.payload))
    assert.equal(toHex(ct), m.ciphertext)
    assert.equal(toHex(recv[to].decryptWithAd(new Uint8Array(0), ct)), m.payload)
  })
})

test('handshake messages out of order are refused', () => {
  const c = nodeCrypto
  const responder = new HandshakeXX(c, { role: 'responder', staticKey: c.x25519Generate() })
  assert.throws(() => responder.writeMessageB(new Uint8Array(0)), { name: 'HandshakeError' })
  assert.throws(() => responder.readMessageA(new Uint8Array(5)), { name: 'HandshakeError' })
})
