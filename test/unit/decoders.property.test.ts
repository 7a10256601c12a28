import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { FrameDecoder, MAX_FRAME_SIZE, PROTOCOL_VERSION, frameHeader } from '../../src/transport/frame-decoder.js'
import { decodeMessage, decodeMessageHead, encodeMessage, type Message } from '../../src/routing/message.js'
import { parseMultiaddr, formatMultiaddr } from '../../src/routing/multiaddr.js'
import { decodeChannelMessage, encodeClose, encodeControl, encodePayload, Kind, MAX_CLOSE_REASON } from '../../src/channel/channel-message.js'
import { HandshakeXX } from '../../src/channel/noise/handshake-xx.js'
import { decodeCredentialsPayload, encodeCredentialsPayload, verifyIdentityPayload } from '../../src/channel/peer.js'
import { LocalIdentity } from '../../src/identity/local-identity.js'
import { MemoryVault } from '../../src/identity/vault.js'
import { decodeTicket, encodeTicket } from '../../src/authority/ticket.js'
import { nodeCrypto as c } from '../../src/crypto/node-crypto.js'
import { MAX_ADDRESS_LENGTH } from '../../src/routing/address.js'
import { parseHostPort } from '../../src/transport/host-port.js'
import { garbageAndMutations, onlyRaises } from '../support/hostile-bytes.js'

/** The only errors a decoder may throw on hostile input. */
const EXPECTED = new Set(['DecodeError', 'FrameTooLargeError', 'VersionError', 'MultiaddrError', 'HandshakeError',
  'AuthenticationError', 'InvalidKeyError', 'VerificationError', 'ExpiredError', 'UnexpectedPeerError', 'AddressError'])
const onlyExpected = (fn: () => unknown): void => onlyRaises(EXPECTED, fn)

const address = fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.string({ maxLength: MAX_ADDRESS_LENGTH }) })
const message: fc.Arbitrary<Message> = fc.record({
  onward: fc.array(address, { maxLength: 8 }),
  return: fc.array(address, { maxLength: 8 }),
  payload: fc.uint8Array({ maxLength: 70_000 })
})

test('message codec round-trips any message', () => {
  fc.assert(fc.property(message, (m) => {
    const d = decodeMessage(encodeMessage(m))
    const plain = (r: readonly { type: number; value: string }[]) => r.map((a) => ({ type: a.type, value: a.value }))
    assert.deepEqual(plain(d.onward), plain(m.onward))
    assert.deepEqual(plain(d.return), plain(m.return))
    assert.deepEqual(Buffer.from(d.payload), Buffer.from(m.payload))
  }), { numRuns: 300 })
})

test('message decoder: garbage and mutations only ever raise DecodeError', () => {
  garbageAndMutations({ valid: message, encode: encodeMessage, decode: decodeMessage, names: EXPECTED, maxGarbageBytes: 500, mutationRuns: 1000 })
})

test('frame decoder yields the same frames however the stream is cut', () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1 }), (frames, cuts) => {
    const stream = Buffer.concat([Uint8Array.of(PROTOCOL_VERSION), ...frames.flatMap((f) => [frameHeader(f.byteLength), f])])
    const d = new FrameDecoder()
    const out: Uint8Array[] = []
    let pos = 0
    for (let i = 0; pos < stream.length; i++) {
      const n = cuts[i % cuts.length]!
      out.push(...d.push(stream.subarray(pos, pos + n)))
      pos += n
    }
    assert.deepEqual(out.map((f) => Buffer.from(f).toString('hex')), frames.map((f) => Buffer.from(f).toString('hex')))
    assert.equal(d.pendingBytes, 0)
  }), { numRuns: 300 })
})

test('frame decoder in parts: every piece is a view of what was read (no copy), and the pieces make the frame', () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1 }), (frames, cuts) => {
    const stream = Buffer.concat([Uint8Array.of(PROTOCOL_VERSION), ...frames.flatMap((f) => [frameHeader(f.byteLength), f])])
    const d = new FrameDecoder()
    const reads: Buffer[] = []
    const out: Buffer[][] = []
    for (let pos = 0, i = 0; pos < stream.length; i++) {
      const n = cuts[i % cuts.length]!
      const read = Buffer.from(stream.subarray(pos, pos + n))
      reads.push(read)
      out.push(...d.pushParts(read))
      pos += n
    }
    assert.deepEqual(out.map((parts) => Buffer.concat(parts).toString('hex')), frames.map((f) => Buffer.from(f).toString('hex')))
    for (const part of out.flat()) assert.ok(reads.some((r) => r.buffer === part.buffer), 'a piece was copied')
  }), { numRuns: 300 })
})

test('message head from a first piece: the same routes as the whole message, or a DecodeError', () => {
  fc.assert(fc.property(message, fc.nat(), (m, k) => {
    const bytes = encodeMessage(m)
    const whole = decodeMessage(bytes)
    const cut = k % (bytes.byteLength + 1)
    try {
      const head = decodeMessageHead(bytes.subarray(0, cut), bytes.byteLength)
      assert.deepEqual([head.onward, head.return], [whole.onward, whole.return])
      assert.equal(bytes.byteLength - head.payloadAt, whole.payload.byteLength)
    } catch (err) {
      assert.equal((err as Error).name, 'DecodeError')
    }
  }), { numRuns: 2000 })
})

test('frame decoder refuses a frame over the limit from its header alone', () => {
  const d = new FrameDecoder()
  const header = Buffer.alloc(5)
  header[0] = PROTOCOL_VERSION
  header.writeUInt32BE(MAX_FRAME_SIZE + 1, 1)
  assert.throws(() => d.push(header), { name: 'FrameTooLargeError' })
  fc.assert(fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 20 }), (chunks) => {
    const dec = new FrameDecoder()
    onlyExpected(() => { for (const ch of chunks) dec.push(Buffer.from(ch)) })
    assert.ok(dec.pendingBytes <= MAX_FRAME_SIZE + 4 + 64 * 20)
  }), { numRuns: 2000 })
})

test('multiaddr parser: formats round-trip, garbage gives MultiaddrError', () => {
  for (const s of ['/ip4/127.0.0.1/tcp/4000/secure/api/service/echo', '/node/n1/service/echo', '/service/sc-1', '/dnsaddr/db.local/tcp/8086/project/default/service/x']) {
    assert.equal(formatMultiaddr(parseMultiaddr(s)), s)
  }
  fc.assert(fc.property(fc.string({ maxLength: 100 }), (s) => onlyExpected(() => parseMultiaddr(s))), { numRuns: 3000 })
  fc.assert(fc.property(fc.array(fc.constantFrom('ip4', 'tcp', 'secure', 'service', '1', '', 'x/y', '65536', 'node'), { maxLength: 10 }), (parts) => {
    onlyExpected(() => parseMultiaddr('/' + parts.join('/')))
  }), { numRuns: 2000 })
  fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => onlyExpected(() => parseHostPort(s))), { numRuns: 2000 })
})

test('channel message, credentials and identity payload decoders never throw unexpected errors', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
    onlyExpected(() => decodeChannelMessage(b))
    onlyExpected(() => decodeCredentialsPayload(b))
    onlyExpected(() => verifyIdentityPayload({ crypto: c, authorities: [], now: () => 0 }, b, new Uint8Array(32)))
  }), { numRuns: 3000 })
})

test('handshake state machine: arbitrary messages at every step fail cleanly', () => {
  const rs = c.x25519Generate()
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
    onlyExpected(() => new HandshakeXX(c, { role: 'responder', staticKey: rs }).readMessageA(b))
    const init = new HandshakeXX(c, { role: 'initiator', staticKey: rs })
    init.writeMessageA(new Uint8Array(0))
    onlyExpected(() => init.readMessageB(b))
    const resp = new HandshakeXX(c, { role: 'responder', staticKey: rs })
    resp.readMessageA(c.x25519Generate().publicKey)
    resp.writeMessageB(new Uint8Array(0))
    onlyExpected(() => resp.readMessageC(b))
  }), { numRuns: 500 })
})

// Round trips: a decoder that always threw would pass every "only raises" property above; these
// show that what is valid comes back as it went in.

test('channel messages round-trip: payloads, refreshes, closes and ready', () => {
  fc.assert(fc.property(message, fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 600 }), (m, creds, reason) => {
    const [head, payload] = encodePayload(m)
    const p = decodeChannelMessage(Buffer.concat([head, payload]))
    assert.equal(p.kind, Kind.Payload)
    if (p.kind === Kind.Payload) assert.deepEqual(Buffer.from(p.message.payload), Buffer.from(m.payload))
    const r = decodeChannelMessage(encodeControl(Kind.Refresh, creds))
    assert.deepEqual(r.kind === Kind.Refresh ? Buffer.from(r.credentials) : undefined, Buffer.from(creds))
    const closed = decodeChannelMessage(encodeClose(reason))
    assert.equal(closed.kind === Kind.Close ? closed.reason : undefined, Buffer.from(reason.slice(0, MAX_CLOSE_REASON), 'utf8').subarray(0, MAX_CLOSE_REASON).toString('utf8'))
    assert.equal(decodeChannelMessage(encodeControl(Kind.Ready)).kind, Kind.Ready)
  }), { numRuns: 300 })
})

test('credentials payloads round-trip', () => {
  const issuer = LocalIdentity.create(c, new MemoryVault())
  const subject = LocalIdentity.create(c, new MemoryVault())
  fc.assert(fc.property(fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.string({ maxLength: 40 }), { maxKeys: 8 }), fc.integer({ min: 1, max: 3 }), (attributes, n) => {
    const creds = Array.from({ length: n }, () => issuer.issueCredential(subject.identity, attributes, { ttlSeconds: 600 }))
    const back = decodeCredentialsPayload(encodeCredentialsPayload(creds))
    assert.equal(back.length, n)
    assert.deepEqual(back.map((x) => Buffer.from(x.credential).toString('hex')), creds.map((x) => Buffer.from(x.credential).toString('hex')))
  }), { numRuns: 50 })
})

test('multiaddrs round-trip: any route of names, hosts and ports formats and parses back', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/)
  const segment = fc.oneof(
    fc.tuple(fc.constantFrom('service', 'worker', 'secure', 'node', 'project'), name).map(([k, v]) => `/${k}/${v}`),
    fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `/ip4/${h}/tcp/${p}`),
    fc.tuple(fc.domain(), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `/dnsaddr/${h}/tcp/${p}`))
  fc.assert(fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segments) => {
    const text = segments.join('')
    assert.equal(formatMultiaddr(parseMultiaddr(text)), text)
  }), { numRuns: 1000 })
})

test('tickets round-trip, and a changed byte never yields a different valid ticket silently', () => {
  const route = fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `/ip4/${h}/tcp/${p}`)
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.array(route, { minLength: 1, maxLength: 16 }), fc.nat(), (code, project, authority, replicas, pick) => {
    const t = { code, project, route: replicas[pick % replicas.length] ?? '', authority, replicas }
    const back = decodeTicket(encodeTicket(t))
    assert.deepEqual([Buffer.from(back.code), back.project, back.route, Buffer.from(back.authority), back.replicas], [Buffer.from(code), project, t.route, Buffer.from(authority), replicas])
  }), { numRuns: 300 })
})
