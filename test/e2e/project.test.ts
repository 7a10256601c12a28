import { EXIT_CODE } from '../../src/util/errors.js'
import { logLineProblems } from '../support/log-lines.js'
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, ok } from '../support/cli.js'

// Separate processes, as deployed: a project node, and member nodes started from tickets and config files.
const portico = cli('portico-project-')
const nodes = ['authority', 'server', 'device', 'bad']

interface Show { identifier: string; httpServerAddress: string; secureChannels: { peer: string }[]; credential: { attributes: Record<string, string> } | null; policies: unknown[] }
const show = async (name: string): Promise<Show> => JSON.parse(await ok(portico, 'node', 'show', name, '--output', 'json')) as Show

before(async () => {
  await ok(portico, 'identity', 'create', 'admin')
  await ok(portico, 'authority', 'create', '--tcp-listener-address', '127.0.0.1:0', '--credential-ttl', '1h')
})
after(async () => { for (const n of nodes) await portico('node', 'delete', n) })

test('enroll from a YAML config with a ticket, serve status, guard a service, and revoke a deleted member within 15 s', async () => {
  const serverTicket = await ok(portico, 'ticket', 'create', '--attribute', 'role=server')
  const config = join(portico.home, 'server.yaml')
  writeFileSync(config, [
    'variables:', '  PORT: 0', 'name: server', 'ticket: $SERVER_TICKET', 'http-server-port: $PORT',
    'tcp-listener-address: 127.0.0.1:0', 'policies:', '  echo: device and not beta', ''
  ].join('\n'))
  portico.env.SERVER_TICKET = serverTicket
  await ok(portico, 'identity', 'create', 'server')
  await ok(portico, 'node', 'create', '--config', config, '--identity', 'server')
  delete portico.env.SERVER_TICKET

  const s = await show('server')
  const base = `http://${s.httpServerAddress}`
  assert.equal((await fetch(`${base}/healthz`)).status, 200)
  let ready = 0
  for (let i = 0; i < 50 && ready !== 200; i++) {
    ready = (await fetch(`${base}/readyz`)).status
    if (ready !== 200) await new Promise((r) => setTimeout(r, 100))
  }
  assert.equal(ready, 200)
  const shown = await (await fetch(`${base}/show`)).json() as Show
  assert.deepEqual(shown.credential?.attributes, { role: 'server' })
  assert.deepEqual(shown.policies, [{ resource: 'echo', expression: 'device and not beta' }])
  const metrics = await (await fetch(`${base}/metrics`)).text()
  assert.match(metrics, /^portico_secure_channels \d+$/m)
  assert.match(metrics, /^portico_credential_expires_at_seconds \d+$/m)
  // Sampled at EVENT_LOOP_SAMPLE_MS, not prom-client's 10 ms: still measured.
  assert.match(metrics, /^portico_nodejs_eventloop_lag_p99_seconds \d[\d.e-]*$/m)

  await ok(portico, 'identity', 'create', 'device')
  const deviceTicket = await ok(portico, 'ticket', 'create', '--attribute', 'device=true')
  await ok(portico, 'node', 'create', 'device', '--identity', 'device', '--enrollment-ticket', deviceTicket)
  const deviceId = (await show('device')).identifier
  const serverRoute = `/node/server/secure/api/service/echo`
  assert.equal(await ok(portico, 'message', 'send', 'hello', '--from', 'device', '--to', serverRoute), 'hello')

  // The policy is the server's: tightening it refuses the device.
  await ok(portico, 'policy', 'create', '--at', 'server', '--resource', 'echo', '--expression', '(= subject.device "false")')
  assert.notEqual((await portico('message', 'send', 'hello', '--from', 'device', '--to', serverRoute, '--timeout', '1000')).code, 0)
  await ok(portico, 'policy', 'delete', '--at', 'server', '--resource', 'echo')
  assert.match(await ok(portico, 'policy', 'list', '--at', 'server'), /\(none\)/)
  assert.equal(await ok(portico, 'message', 'send', 'again', '--from', 'device', '--to', serverRoute), 'again')
  assert.ok((await show('server')).secureChannels.some((c) => c.peer === deviceId))

  const started = Date.now()
  await ok(portico, 'member', 'delete', deviceId)
  let open = true
  while (open && Date.now() - started < 15_000) {
    open = (await show('server')).secureChannels.some((c) => c.peer === deviceId)
    if (open) await new Promise((r) => setTimeout(r, 200))
  }
  assert.equal(open, false, 'the server node still has a channel from the deleted member after 15 s')
  const refused = await portico('message', 'send', 'hello', '--from', 'device', '--to', serverRoute)
  assert.notEqual(refused.code, 0)
  assert.match(refused.stderr, /revoked/)
  const log = readFileSync(join(portico.home, 'nodes', 'server', 'node.log'), 'utf8')
  assert.match(log, /identity revoked by the authority/)
  assert.ok(!log.includes(serverTicket) && !log.includes(deviceTicket), 'a ticket appeared in a log')
})

test('bad input: reused, forged and garbage tickets, invalid config, corrupt store; each a clear error that changes nothing', async () => {
  const members = async (): Promise<number> => (JSON.parse(await ok(portico, 'member', 'list', '--output', 'json')) as unknown[]).length
  const ticket = await ok(portico, 'ticket', 'create')
  await ok(portico, 'identity', 'create', 'one')
  await ok(portico, 'identity', 'create', 'two')
  await ok(portico, 'enroll', ticket, '--identity', 'one')
  const before = await members()

  const reused = await portico('enroll', ticket, '--identity', 'two')
  assert.equal(reused.code, EXIT_CODE.refused)
  assert.match(reused.stderr, /^error: the ticket has already been used/)
  // Change one character of the code: the authority does not know it.
  const bytes = Buffer.from(ticket, 'base64url')
  bytes[4] = (bytes[4] ?? 0) ^ 0xff
  const forged = await portico('enroll', bytes.toString('base64url'), '--identity', 'two')
  assert.equal(forged.code, EXIT_CODE.refused)
  assert.match(forged.stderr, /not known to this authority/)
  const expired = await ok(portico, 'ticket', 'create', '--expires-in', '1s')
  await new Promise((r) => setTimeout(r, 2100))
  assert.match((await portico('enroll', expired, '--identity', 'two')).stderr, /expired/)
  assert.match((await portico('enroll', 'not a ticket', '--identity', 'two')).stderr, /^error: not a valid ticket \(a ticket is one base64url string\)/)
  const garbage = await portico('enroll', 'garbage', '--identity', 'two')
  assert.match(garbage.stderr, /^error: not a valid ticket \(/)
  assert.equal(garbage.code, EXIT_CODE['bad-input'])
  assert.match((await portico('ticket', 'create', '--identity', 'two')).stderr, /is not a member/)
  assert.equal(await members(), before)

  const badConfig = await portico('node', 'create', 'bad', '--configuration', '{"tcp-listner-address": "127.0.0.1:0"}')
  assert.equal(badConfig.code, EXIT_CODE['bad-input'])
  assert.match(badConfig.stderr, /unknown key 'tcp-listner-address'/)
  const badPolicy = await portico('node', 'create', 'bad', '--configuration', 'policies: {echo: "(= subject.x"}')
  assert.match(badPolicy.stderr, /'policies.echo'/)
  const corrupt = join(portico.home, 'corrupt.sqlite')
  writeFileSync(corrupt, 'this is not a database'.repeat(300))
  const badStore = await portico('node', 'create', 'bad', '--store', `sqlite:${corrupt}`)
  assert.equal(badStore.code, EXIT_CODE.unavailable)
  assert.match(badStore.stderr, /cannot open the SQLite store/)
  // The node's log says so as a JSON line, as every other line of it is.
  assert.deepEqual(logLineProblems(readFileSync(join(portico.home, 'nodes', 'bad', 'node.log'), 'utf8')), [])
  assert.equal(readFileSync(corrupt, 'utf8'), 'this is not a database'.repeat(300))
})

test('one time format and plain output for people: ISO times in JSON, no JSON in plain mode', async () => {
  const t = JSON.parse(await ok(portico, 'ticket', 'create', '--output', 'json')) as { ticket: string; expiresAt: string }
  assert.match(t.expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
  const members = JSON.parse(await ok(portico, 'member', 'list', '--output', 'json')) as { addedAt: string }[]
  assert.ok(members.every((m) => /^\d{4}-\d\d-\d\dT/.test(m.addedAt)))
  const [name] = (JSON.parse(await ok(portico, 'node', 'list', '--output', 'json')) as { name: string; status: string }[]).filter((n) => n.status === 'running').map((n) => n.name)
  const plain = await ok(portico, 'node', 'show', name ?? 'default')
  assert.doesNotMatch(plain, /^\s*[{[]/)
  assert.match(plain, /^identifier: I[0-9a-f]{64}$/m)
})

test('outstanding tickets are listed without their secret and can be revoked before use', async () => {
  const t = await ok(portico, 'ticket', 'create', '--attribute', 'site=lyon', '--usage-count', '3')
  const listed = JSON.parse(await ok(portico, 'ticket', 'list', '--output', 'json')) as { id: string; attributes: Record<string, string>; usesLeft: number; expiresAt: string }[]
  const mine = listed.find((x) => x.attributes.site === 'lyon')
  assert.ok(mine !== undefined)
  assert.equal(mine.usesLeft, 3)
  assert.match(mine.id, /^[0-9a-f]{16}$/)
  assert.match(mine.expiresAt, /^\d{4}-\d\d-\d\dT/)
  assert.ok(!JSON.stringify(listed).includes(t), 'a ticket was listed')
  assert.match(await ok(portico, 'ticket', 'list'), /^ID\s+ROLE\s+ATTRIBUTES/)
  assert.match(await ok(portico, 'ticket', 'revoke', mine.id), /revoked/)
  const again = await portico('ticket', 'revoke', mine.id)
  assert.equal(again.code, EXIT_CODE['not-found'])
  await ok(portico, 'identity', 'create', 'late')
  const late = await portico('enroll', t, '--identity', 'late')
  assert.match(late.stderr, /not known to this authority/)
  assert.equal(late.code, EXIT_CODE.refused)
})

test('a second ticket for an identity that enrolled before is redeemed, not ignored: its attributes arrive', async () => {
  await ok(portico, 'identity', 'create', 'twice')
  const id = (await ok(portico, 'identity', 'show', 'twice')).trim()
  await ok(portico, 'node', 'create', 'twice-a', '--identity', 'twice', '--enrollment-ticket', await ok(portico, 'ticket', 'create', '--attribute', 'first=yes'))
  const second = await ok(portico, 'ticket', 'create', '--attribute', 'second=yes')
  await ok(portico, 'node', 'create', 'twice-b', '--identity', 'twice', '--enrollment-ticket', second)
  const m = JSON.parse(await ok(portico, 'member', 'show', id, '--output', 'json')) as { attributes: Record<string, string> }
  assert.deepEqual({ first: m.attributes.first, second: m.attributes.second }, { first: 'yes', second: 'yes' })
  // Given the ticket it already redeemed (a node started again with its configuration), it does not
  // redeem it twice, which the authority would refuse: the node starts.
  assert.match(await ok(portico, 'node', 'create', 'twice-c', '--identity', 'twice', '--enrollment-ticket', second), /started/)
  for (const n of ['twice-a', 'twice-b', 'twice-c']) await portico('node', 'delete', n)
})
