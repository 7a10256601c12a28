import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { BIN, cli, ok, type Cli } from '../support/cli.js'
import { startInflux, type InfluxServer } from '../support/influxdb.js'
import { freePort } from '../support/postgres.js'
import { tempDir } from '../support/temp-dir.js'

// The README's flows are docs/examples/*.sh, included in it verbatim (test/unit/docs-included.test.ts
// checks that): here they run as written, with the real portico command and a real InfluxDB. A
// doc that drifts from the CLI fails here.

const run = promisify(execFile)
const SHARED_SECRET = 'shared-secret-for-the-docs-test'
let influx: InfluxServer
let portico: Cli
let work: string

before(async () => {
  influx = await startInflux({ sharedSecret: SHARED_SECRET })
  portico = cli('portico-docs-')
  work = tempDir('portico-docs-work-')
  // `portico` on the PATH, as `npm install -g` would put it.
  writeFileSync(join(work, 'portico'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(join(work, 'portico'), 0o755)
})

after(async () => {
  const nodes = JSON.parse(await ok(portico, 'node', 'list', '--output', 'json')) as { name: string }[]
  for (const n of nodes) await portico('node', 'stop', n.name)
  await influx.stop()
})

test('README "Using the CLI": two nodes, a secure channel, an echo through it and from a temporary node, a stop and a start', async () => {
  const home = cli('portico-docs-channel-')
  const env = { ...home.env, PATH: `${work}:${process.env.PATH ?? ''}`, N1_PORT: String(await freePort()) }
  const script = new URL('../../docs/examples/channel.sh', import.meta.url).pathname
  let out: { stdout: string; stderr: string }
  try {
    out = await run('bash', ['-euo', 'pipefail', script], { cwd: work, env, timeout: 120_000 })
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number }
    await home('node', 'stop', 'n1')
    await home('node', 'stop', 'n2')
    assert.fail(`the README's CLI example failed (exit ${String(e.code)}):\n${e.stdout ?? ''}\n${e.stderr ?? ''}`)
  }
  // Both echoes came back, the listing shows both nodes, and n1 came back with `node start`.
  assert.equal(out.stdout.split('\n').filter((l) => l === 'hello').length, 2, out.stdout)
  assert.match(out.stdout, /^n1\s+running/m)
  assert.match(out.stdout, /^n2\s+running/m)
  assert.match(out.stdout, /node n1 started/)
})

test('README "A fleet on one machine": the device writes with no credential, the analyst reads with a lease of their own', async (t) => {
  const env = {
    ...portico.env, PATH: `${work}:${process.env.PATH ?? ''}`,
    INFLUX: influx.address, INFLUX_ADMIN_PASSWORD: influx.admin.password, INFLUX_SHARED_SECRET: SHARED_SECRET,
    PROJECT_PORT: String(await freePort()), EDGE_PORT: String(await freePort()), ANALYST_PORT: String(await freePort())
  }
  const script = new URL('../../docs/examples/fleet.sh', import.meta.url).pathname
  let out: { stdout: string; stderr: string }
  try {
    out = await run('bash', ['-euo', 'pipefail', script], { cwd: work, env, timeout: 120_000 })
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number }
    assert.fail(`the README's fleet example failed (exit ${String(e.code)}):\n${e.stdout ?? ''}\n${e.stderr ?? ''}`)
  }
  t.diagnostic(out.stdout.split('\n').slice(-6).join(' | '))
  // The device's write is in the database; the analyst's query through its own lease returned it.
  const stored = await influx.query('SELECT * FROM cpu', { db: 'site-7', username: influx.admin.username, password: influx.admin.password })
  assert.match(stored.body, /"edge",1\]/)
  assert.match(out.stdout, /"name":"cpu".*"edge",1\]/)
  // The lease list shows the analyst's lease and no secret.
  assert.match(out.stdout, /ID\s+BACKEND/)
  assert.ok(!readFileSync(join(work, 'outlet.json'), 'utf8').includes('Token '), 'the config holds no lease')
})
