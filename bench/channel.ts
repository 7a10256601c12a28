// bench:channel — secure-channel handshakes/s beside TLS 1.3, bulk throughput beside raw TCP
// (two processes), and memory per idle channel. Prints JSON and a table; no thresholds.
import { spawn, execFileSync } from 'node:child_process'
import { connect as tlsConnect, createServer as tlsServer } from 'node:tls'
import { connect as netConnect } from 'node:net'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { nodeCrypto } from '../src/crypto/node-crypto.js'
import { LocalIdentity } from '../src/identity/local-identity.js'
import { MemoryVault } from '../src/identity/vault.js'
import { PorticoNode } from '../src/node/portico-node.js'
import { silentLogger } from '../src/log/logger.js'
import { local, tcp } from '../src/routing/address.js'
import { trustAuthority } from '../src/channel/trust-policy.js'
import { fmt, report } from './lib/report.js'
import { signatureCache } from '../src/identity/signature-cache.js'
import { ACK_EVERY } from './channel-ack.js'

const HANDSHAKE_SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const CONCURRENCY = 8
const BULK_BYTES = Number(process.env.BENCH_BULK_MIB ?? 512) * 1024 * 1024
const CHUNK = 48 * 1024
const WINDOW = 64
const IDLE_CHANNELS = 1000

const newId = (): LocalIdentity => LocalIdentity.create(nodeCrypto, new MemoryVault())

async function forDuration(seconds: number, once1: () => Promise<void>): Promise<number> {
  const end = Date.now() + seconds * 1000
  let n = 0
  const started = process.hrtime.bigint()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < end) {
      await once1()
      n++
    }
  }))
  return n / (Number(process.hrtime.bigint() - started) / 1e9)
}

async function porticoHandshakes(): Promise<number> {
  const authority = newId()
  const serverId = newId()
  const clientId = newId()
  const creds = (who: LocalIdentity) => { const c = [authority.issueCredential(who.identity, { role: 'bench' })]; return () => c }
  const common = { log: silentLogger, authorities: () => [authority.identity], listenerTrust: trustAuthority(authority.identifier) }
  const server = await PorticoNode.start({ name: 's', identity: serverId, credentials: creds(serverId), tcpListenerAddress: '127.0.0.1:0', ...common })
  const client = await PorticoNode.start({ name: 'c', identity: clientId, credentials: creds(clientId), ...common })
  const route = [tcp(server.listenAddress ?? ''), local('api')]
  try {
    return await forDuration(HANDSHAKE_SECONDS, async () => {
      const ch = await client.createSecureChannel(route, { trustPolicy: trustAuthority(authority.identifier) })
      ch.close()
    })
  } finally {
    await client.stop()
    await server.stop()
  }
}

async function tlsHandshakes(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-tls-'))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
  const cert = readFileSync(join(dir, 'cert.pem'))
  const key = readFileSync(join(dir, 'key.pem'))
  rmSync(dir, { recursive: true })
  const server = tlsServer({ cert, key, minVersion: 'TLSv1.3', ecdhCurve: 'X25519' }, (s) => s.end())
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  try {
    return await forDuration(HANDSHAKE_SECONDS, async () => {
      const s = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca: cert, minVersion: 'TLSv1.3', ecdhCurve: 'X25519' })
      await once(s, 'secureConnect')
      s.destroy()
    })
  } finally {
    server.close()
  }
}

async function startPeer(): Promise<{ portico: string; raw: number; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./channel-peer.ts', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] })
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string]
  const info = JSON.parse(line) as { portico: string; raw: number }
  return { ...info, stop: () => child.stdin.end() }
}

async function rawThroughput(port: number): Promise<number> {
  const s = netConnect({ port, host: '127.0.0.1' })
  await once(s, 'connect')
  const header = Buffer.alloc(8)
  header.writeBigUInt64BE(BigInt(BULK_BYTES))
  const chunk = Buffer.alloc(CHUNK, 7)
  const started = process.hrtime.bigint()
  s.write(header)
  for (let sent = 0; sent < BULK_BYTES; sent += CHUNK) {
    if (!s.write(chunk)) await once(s, 'drain')
  }
  await once(s, 'data')
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  s.destroy()
  return (BULK_BYTES * 8) / seconds / 1e9
}

async function porticoThroughput(peer: string): Promise<number> {
  const node = await PorticoNode.start({ name: 'bulk', identity: newId(), log: silentLogger })
  const ch = await node.createSecureChannel([tcp(peer), local('api')])
  const total = Math.ceil(BULK_BYTES / CHUNK)
  const chunk = Buffer.alloc(CHUNK, 7)
  let sent = 0
  let acked = 0
  let wake: (() => void) | undefined
  // Each acknowledgement stands for ACK_EVERY more chunks received by the sink.
  node.router.register('bench-src', { handleMessage() { acked += ACK_EVERY; wake?.() } })
  const started = process.hrtime.bigint()
  while (acked < total - (total % ACK_EVERY)) {
    while (sent < total && sent - acked < WINDOW) {
      node.router.send({ onward: [local(ch.address), local('sink')], return: [local('bench-src')], payload: chunk })
      sent++
    }
    await new Promise<void>((r) => { wake = r })
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  await node.stop()
  return (acked * CHUNK * 8) / seconds / 1e9
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.()
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function idleChannelMemory(): Promise<{ heapPerChannel: number; rssPerChannel: number }> {
  const server = await PorticoNode.start({ name: 's', identity: newId(), log: silentLogger, tcpListenerAddress: '127.0.0.1:0' })
  const client = await PorticoNode.start({ name: 'c', identity: newId(), log: silentLogger })
  const route = [tcp(server.listenAddress ?? ''), local('api')]
  await client.createSecureChannel(route)
  await settle()
  const before = process.memoryUsage()
  for (let i = 0; i < IDLE_CHANNELS; i += 50) {
    await Promise.all(Array.from({ length: 50 }, () => client.createSecureChannel(route)))
  }
  await settle()
  const after = process.memoryUsage()
  await client.stop()
  await server.stop()
  return {
    heapPerChannel: (after.heapUsed + after.external - before.heapUsed - before.external) / IDLE_CHANNELS,
    rssPerChannel: (after.rss - before.rss) / IDLE_CHANNELS
  }
}

// Memory first, before the other phases leave garbage whose collection would skew the deltas.
const mem = await idleChannelMemory()
const rounds = 2
const portico: number[] = []
const cold: number[] = []
const tls: number[] = []
for (let i = 0; i < rounds; i++) {
  portico.push(await porticoHandshakes())
  signatureCache.enabled = false
  cold.push(await porticoHandshakes())
  signatureCache.enabled = true
  tls.push(await tlsHandshakes())
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const hsPortico = mean(portico)
const hsTls = mean(tls)
const hsCold = mean(cold)

const peer = await startPeer()
const raw1 = await rawThroughput(peer.raw)
const sc1 = await porticoThroughput(peer.portico)
const raw2 = await rawThroughput(peer.raw)
const sc2 = await porticoThroughput(peer.portico)
peer.stop()
const rawGbps = Math.max(raw1, raw2)
const scGbps = Math.max(sc1, sc2)

report('channel', [
  { measure: 'handshakes/s (Noise XX + identity + credential checks, both ends; signature cache on)', portico: fmt(hsPortico, 0), baseline: fmt(hsTls, 0), 'baseline is': 'TLS 1.3 x25519 Ed25519 cert', ratio: fmt(hsPortico / hsTls) },
  { measure: 'handshakes/s, signature cache off (every Ed25519 signature verified)', portico: fmt(hsCold, 0), baseline: fmt(hsTls, 0), 'baseline is': 'TLS 1.3 x25519 Ed25519 cert', ratio: fmt(hsCold / hsTls) },
  { measure: 'bulk Gbit/s through one channel, two processes', portico: fmt(scGbps), baseline: fmt(rawGbps), 'baseline is': 'raw TCP, same processes', ratio: fmt(scGbps / rawGbps) },
  { measure: 'memory per idle channel, both ends (heap+external KiB)', portico: fmt(mem.heapPerChannel / 1024, 1), baseline: '', 'baseline is': '', ratio: '' },
  { measure: 'memory per idle channel, both ends (RSS KiB)', portico: fmt(mem.rssPerChannel / 1024, 1), baseline: '', 'baseline is': '', ratio: '' }
], { settings: { handshakeSeconds: HANDSHAKE_SECONDS, concurrency: CONCURRENCY, bulkBytes: BULK_BYTES, chunk: CHUNK, window: WINDOW, idleChannels: IDLE_CHANNELS }, rounds: { portico, cold, tls, raw: [raw1, raw2], channel: [sc1, sc2] } })
process.exit(0)
