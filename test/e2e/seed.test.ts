import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Influx from 'influx'
import { cli, ok } from '../support/cli.js'
import { freePort } from '../support/postgres.js'
import { startInflux, type InfluxServer } from '../support/influxdb.js'

// The seed scenario with separate processes: a project node, an outlet node next to a real
// InfluxDB 1.6.7 (registered as relay `influxdb`), and an inlet node next to the clients.
const run = promisify(execFile)
const portico = cli('portico-seed-')
let influx: InfluxServer
let influxTls: InfluxServer
let inletPort = 0
let tlsInletPort = 0

async function enrolledNode(name: string, ticketArgs: string[], config: string): Promise<void> {
  const ticket = await ok(portico, 'ticket', 'create', ...ticketArgs)
  const file = join(portico.home, `${name}.yaml`)
  writeFileSync(file, config)
  await ok(portico, 'identity', 'create', name)
  await ok(portico, 'node', 'create', name, '--identity', name, '--config', file, '--enrollment-ticket', ticket)
}

async function influxCli(port: number, ...args: string[]): Promise<string> {
  const r = await run('influx', ['-host', '127.0.0.1', '-port', String(port), '-username', influx.admin.username, '-password', influx.admin.password, ...args], { timeout: 30_000 })
  return r.stdout
}

before(async () => {
  influx = await startInflux()
  influxTls = await startInflux({ tls: true })
  writeFileSync(join(portico.home, 'influx-ca.pem'), influxTls.certificate ?? '')
  inletPort = await freePort()
  tlsInletPort = await freePort()
  await ok(portico, 'identity', 'create', 'admin')
  await ok(portico, 'authority', 'create', '--tcp-listener-address', '127.0.0.1:0')
  await enrolledNode('outlet', ['--attribute', 'influxdb-outlet=true', '--relay', 'influxdb'], [
    'relay: influxdb',
    'tcp-outlet:',
    `  - {to: "${influx.address}", allow: '(= subject.influxdb-inlet "true")'}`,
    `  - {to: "${influxTls.address}", from: tls-outlet, tls: true, tls-ca-file: "${join(portico.home, 'influx-ca.pem')}", allow: influxdb-inlet}`, ''
  ].join('\n'))
  await enrolledNode('inlet', ['--attribute', 'influxdb-inlet=true'], [
    'tcp-inlet:',
    `  - {from: "127.0.0.1:${inletPort}", via: influxdb, allow: '(= subject.influxdb-outlet "true")'}`,
    `  - {from: "127.0.0.1:${tlsInletPort}", via: influxdb, outlet: tls-outlet, allow: influxdb-outlet}`, ''
  ].join('\n'))
})

after(async () => {
  for (const n of ['inlet', 'outlet', 'intruder', 'authority']) await portico('node', 'delete', n)
  await influx.stop()
  await influxTls.stop()
})

test('the influx CLI writes and reads through the inlet', async () => {
  await influxCli(inletPort, '-execute', 'CREATE DATABASE seed')
  await influxCli(inletPort, '-database', 'seed', '-execute', 'INSERT cpu,host=edge-1 value=0.64')
  const out = await influxCli(inletPort, '-database', 'seed', '-format', 'json', '-execute', 'SELECT value FROM cpu')
  assert.match(out, /"values":\[\[\d+,0\.64\]\]/)
})

test('node-influx writes and reads through the inlet', async () => {
  const client = new Influx.InfluxDB({ host: '127.0.0.1', port: inletPort, database: 'seed', username: influx.admin.username, password: influx.admin.password })
  await client.writePoints(Array.from({ length: 500 }, (_, i) => ({ measurement: 'mem', tags: { host: 'edge-2' }, fields: { used: i }, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) })))
  const rows = await client.query<{ count: number }>('SELECT count(used) AS count FROM mem')
  assert.equal(rows[0]?.count, 500)
  // And the data really is in the InfluxDB behind the outlet.
  const direct = await influx.query('SELECT count(used) FROM mem', { db: 'seed', username: influx.admin.username, password: influx.admin.password, method: 'GET' })
  assert.match(direct.body, /500/)
})

test('the outlet speaks TLS to an InfluxDB with https-enabled and a self-signed certificate', async () => {
  const client = new Influx.InfluxDB({ host: '127.0.0.1', port: tlsInletPort, username: influx.admin.username, password: influx.admin.password })
  // Same admin credentials were set on both servers by the test helper.
  await client.createDatabase('tls_seed')
  await client.writePoints([{ measurement: 'temp', fields: { c: 21.5 } }], { database: 'tls_seed' })
  const rows = await client.query<{ c: number }>('SELECT c FROM temp', { database: 'tls_seed' })
  assert.equal(rows[0]?.c, 21.5)
})

test('an inlet identity without the attribute is refused, with a clear error on the refused side', async () => {
  const port = await freePort()
  await enrolledNode('intruder', ['--attribute', 'influxdb-inlet=false'], `tcp-inlet: {from: "127.0.0.1:${port}", via: influxdb}\n`)
  const r = await run('influx', ['-host', '127.0.0.1', '-port', String(port), '-execute', 'SHOW DATABASES'], { timeout: 30_000 }).catch((e: unknown) => e as { stdout: string; stderr: string })
  assert.doesNotMatch(r.stdout, /seed/)
  const log = readFileSync(join(portico.home, 'nodes', 'intruder', 'node.log'), 'utf8')
  assert.match(log, /refused by the outlet: policy \(= subject.influxdb-inlet \\"true\\"\) denies/)
  const show = JSON.parse(await ok(portico, 'node', 'show', 'intruder', '--output', 'json')) as { tcpInlets: { lastError: string }[] }
  assert.match(show.tcpInlets[0]?.lastError ?? '', /refused by the outlet/)
})
