import { EXIT_CODE } from '../../src/util/errors.js'
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, statSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { cli } from '../support/cli.js'

const portico = cli()
const home = portico.home

let serverId = ''
let clientId = ''

before(async () => {
  serverId = (await portico('identity', 'create', 'server')).stdout
  clientId = (await portico('identity', 'create', 'client')).stdout
  assert.equal((await portico('node', 'create', 'server', '--identity', 'server', '--tcp-listener-address', '127.0.0.1:0')).code, 0)
  assert.equal((await portico('node', 'create', 'client', '--identity', 'client')).code, 0)
})

after(async () => {
  await portico('node', 'delete', 'server')
  await portico('node', 'delete', 'client')
  rmSync(home, { recursive: true, force: true })
})

test('identity create/list/show/verify, with JSON output', async () => {
  assert.match(serverId, /^I[0-9a-f]{64}$/)
  const list = JSON.parse((await portico('identity', 'list', '--output', 'json')).stdout) as { name: string; identifier: string }[]
  assert.deepEqual(list.map((i) => i.name).sort(), ['client', 'server'])
  const hex = (await portico('identity', 'show', 'server', '--full')).stdout
  assert.equal((await portico('identity', 'verify', hex)).stdout, serverId)
  const bad = await portico('identity', 'verify', hex.slice(0, -2) + (hex.endsWith('00') ? '01' : '00'))
  assert.notEqual(bad.code, 0)
  assert.match(bad.stderr, /^error: .*signature does not verify/)
  const garbage = await portico('identity', 'verify', 'zz')
  assert.notEqual(garbage.code, 0)
  assert.match(garbage.stderr, /not a hex string/)
})

test('the vault holds secrets with owner-only permissions, and no secret reaches the logs', async () => {
  const mode = statSync(join(home, 'vault.json')).mode & 0o777
  assert.equal(mode, 0o600)
  const secrets = Object.values(JSON.parse(readFileSync(join(home, 'vault.json'), 'utf8')) as Record<string, { secret: string }>).map((v) => v.secret)
  const nodes = readdirSync(join(home, 'nodes'))
  assert.ok(nodes.length > 0, 'no node ran: nothing to look for secrets in')
  // Every node's log is read; a missing one fails the test rather than passing it unread.
  const logs = nodes.map((n) => readFileSync(join(home, 'nodes', n, 'node.log'), 'utf8')).join('')
  assert.match(logs, /node ready/)
  assert.ok(secrets.length > 0)
  for (const s of secrets) assert.ok(!logs.includes(s))
  const help = (await portico('identity', 'create', '--help')).stdout
  for (const s of secrets) assert.ok(!help.includes(s))
})

test('two node processes: a secure channel, a message echoed through it', async () => {
  const ch = await portico('secure-channel', 'create', '--from', 'client', '--to', '/node/server/service/api', '--authorized', serverId, '--output', 'json')
  assert.equal(ch.code, 0, ch.stderr)
  const { address, peer } = JSON.parse(ch.stdout) as { address: string; peer: string }
  assert.equal(peer, serverId)
  const reply = await portico('message', 'send', 'ping', '--from', 'client', '--to', `${address}/service/echo`)
  assert.equal(reply.stdout, 'ping')
  const channels = JSON.parse((await portico('secure-channel', 'list', '--at', 'server', '--output', 'json')).stdout) as { peer: string }[]
  assert.ok(channels.some((c) => c.peer === clientId))
})

test('a temporary node sends along a full multiaddr route', async () => {
  const show = JSON.parse((await portico('node', 'show', 'server', '--output', 'json')).stdout) as { tcpListenerAddress: string }
  const [host, port] = show.tcpListenerAddress.split(':')
  const r = await portico('message', 'send', 'direct', '--to', `/ip4/${host}/tcp/${port}/secure/api/service/echo`, '--identity', 'client')
  assert.equal(r.stdout, 'direct', r.stderr)
})

test('refusals are clear errors with a non-zero exit', async () => {
  const wrong = await portico('secure-channel', 'create', '--from', 'client', '--to', '/node/server/service/api', '--authorized', clientId)
  assert.equal(wrong.code, EXIT_CODE.refused)
  assert.match(wrong.stderr, /is not the authorized identity/)
  const asJson = await portico('secure-channel', 'create', '--from', 'client', '--to', '/node/server/service/api', '--authorized', clientId, '--output', 'json')
  assert.equal(asJson.stdout, '')
  const parsed = JSON.parse(asJson.stderr) as { error: { message: string; code: string; kind: string } }
  assert.match(parsed.error.message, /is not the authorized identity/)
  assert.equal(parsed.error.kind, 'refused')
  assert.equal(asJson.code, EXIT_CODE.refused)
  const usage = await portico('secure-channel', 'create', '--frm', 'client')
  assert.equal(usage.code, EXIT_CODE['bad-input'])
  const noNode = await portico('message', 'send', 'x', '--from', 'nobody', '--to', '/service/echo')
  assert.match(noNode.stderr, /not running/)
  const badRoute = await portico('message', 'send', 'x', '--to', '/ip4/127.0.0.1/udp/1')
  assert.match(badRoute.stderr, /must be followed by \/tcp/)
})

test('every command has --help', async () => {
  for (const cmd of [[], ['identity'], ['identity', 'create'], ['identity', 'verify'], ['node', 'create'], ['node', 'list'], ['secure-channel', 'create'], ['message', 'send']]) {
    const r = await portico(...cmd, '--help')
    assert.equal(r.code, 0)
    assert.match(r.stdout, /Usage: portico/)
  }
})
