import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { BIN, cli, ok } from '../support/cli.js'
import { tempDir } from '../support/temp-dir.js'

const run = promisify(execFile)
const UNITS = ['portico-node@.service', 'portico-authority@.service']

test('the example systemd units pass systemd-analyze verify', { skip: existsSync('/usr/bin/systemd-analyze') ? false : 'systemd-analyze is not installed here' }, async () => {
  const dir = tempDir('portico-units-')
  for (const unit of UNITS) {
    // The units name the installed binary; here the one under test stands in for it.
    const text = readFileSync(new URL(`../../deploy/systemd/${unit}`, import.meta.url), 'utf8').replaceAll('/usr/local/bin/portico', `${process.execPath} ${BIN}`)
    writeFileSync(join(dir, unit.replace('@', '@test')), text)
  }
  const r = await run('systemd-analyze', ['verify', '--man=no', ...UNITS.map((u) => join(dir, u.replace('@', '@test')))]).catch((e: unknown) => e as { stdout: string; stderr: string; code: number })
  const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '' && !/Failed to connect to bus|System has not been booted with systemd|Cannot find unit for|not found or not executable/.test(l))
  assert.deepEqual(complaints, [])
})

test('node start brings a stopped node back as it was created; secrets given inline are not recorded', async () => {
  const portico = cli('portico-start-')
  await ok(portico, 'identity', 'create', 'svc')
  const configuration = JSON.stringify({ 'tcp-outlet': { to: '127.0.0.1:9', from: 'kept-outlet' } })
  await ok(portico, 'node', 'create', 'back', '--identity', 'svc', '--configuration', configuration)
  await ok(portico, 'node', 'stop', 'back')
  await ok(portico, 'node', 'start', 'back')
  const shown = JSON.parse(await ok(portico, 'node', 'show', 'back', '--output', 'json')) as { tcpOutlets?: { address?: string; from?: string }[] }
  assert.match(JSON.stringify(shown), /kept-outlet/)
  await ok(portico, 'node', 'delete', 'back')
  const never = await portico('node', 'start', 'never')
  assert.notEqual(never.code, 0)
  assert.match(never.stderr, /was never created in this home/)
})
