import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { BIN, cli, ok } from '../support/cli.js'
import { killNode } from '../support/node-processes.js'
import { connect } from 'node:net'
import { FaultProxy } from '../support/fault-proxy.js'
import { freePort } from '../support/postgres.js'
import { STOP_DRAIN_MS } from '../../src/cli/node-process.js'

// How a service manager runs a node: in the foreground, on a name that never ran, stopped with
// SIGTERM. It must start, and on SIGTERM stop by itself and exit 0.

test('node create --foreground on a fresh name starts; SIGTERM stops it with exit 0', async () => {
  const portico = cli('portico-service-')
  await ok(portico, 'identity', 'create', 'svc')
  const child = spawn(process.execPath, [BIN, 'node', 'create', 'fresh', '--identity', 'svc', '--foreground', '--tcp-listener-address', '127.0.0.1:0'], { env: portico.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { out += c.toString() })
  for (let i = 0; i < 300 && !/"node ready"/.test(out) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50))
  assert.match(out, /"msg":"node ready"/, out.slice(-500))
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const [code] = await exited as [number | null]
  assert.equal(code, 0)
  assert.match(out, /"msg":"node stopped"/)
})

test('after SIGKILL a node is stopped by its socket, not its PID: list says so, stop says it is not running, create starts it again; logs print', async () => {
  const portico = cli('portico-service-kill-')
  await ok(portico, 'identity', 'create', 'svc')
  await ok(portico, 'node', 'create', 'k', '--identity', 'svc')
  await killNode(portico, 'k')
  const listed = JSON.parse(await ok(portico, 'node', 'list', '--output', 'json')) as { name: string; status: string }[]
  assert.equal(listed.find((n) => n.name === 'k')?.status, 'stopped')
  const stop = await portico('node', 'stop', 'k')
  assert.notEqual(stop.code, 0)
  assert.match(stop.stderr, /not running/)
  await ok(portico, 'node', 'create', 'k', '--identity', 'svc')
  assert.match(await ok(portico, 'node', 'logs', 'k'), /"msg":"node ready"/)
  await ok(portico, 'node', 'delete', 'k')
  const missing = await portico('node', 'delete', 'nosuch')
  assert.notEqual(missing.code, 0)
  assert.match(missing.stderr, /no node named 'nosuch'/)
})

test('SIGTERM while a client waits on an outlet whose path swallows everything: exit 0 within the drain bound', async (t) => {
  const portico = cli('portico-service-drain-')
  await ok(portico, 'identity', 'create', 'svc')
  const silent = await FaultProxy.start('127.0.0.1:9')
  silent.set({ kind: 'blackhole' })
  const inletPort = await freePort()
  const child = spawn(process.execPath, [BIN, 'node', 'create', 'stuck', '--identity', 'svc', '--foreground', '--tcp-listener-address', '127.0.0.1:0',
    '--configuration', `tcp-inlet: {from: ${inletPort}, to: /ip4/127.0.0.1/tcp/${silent.port}/secure/api/service/outlet}`], { env: portico.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { out += c.toString() })
  try {
    for (let i = 0; i < 300 && !/"node ready"/.test(out) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50))
    assert.match(out, /"msg":"node ready"/, out.slice(-500))
    // A client in flight: its handshake goes into a path that swallows everything.
    const client = connect({ host: '127.0.0.1', port: inletPort })
    client.on('error', () => undefined)
    await once(client, 'connect')
    await new Promise((r) => setTimeout(r, 300))
    const exited = once(child, 'exit')
    const t0 = Date.now()
    child.kill('SIGTERM')
    const [code] = await exited as [number | null]
    t.diagnostic(`exited ${Date.now() - t0} ms after SIGTERM (bound ${STOP_DRAIN_MS} ms)`)
    assert.equal(code, 0)
    client.destroy()
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
    await silent.close()
  }
})
