import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { tempDir } from '../support/temp-dir.js'

// What a user installs: `npm pack`, then `npm install -g` of the tarball on its own prefix. The
// installed command must run compiled JavaScript with the runtime dependencies only.

const run = promisify(execFile)
const ROOT = new URL('../..', import.meta.url).pathname
const work = tempDir('portico-package-')
const prefix = join(work, 'prefix')
const home = join(work, 'home')
let stopNode: (() => Promise<unknown>) | undefined

after(async () => { await stopNode?.() })

test('the packed tarball installs into a working portico command with no dev dependencies and no TypeScript', { timeout: 900_000 }, async (t) => {
  // dist/ is built before any test runs (npm test builds first). prepack would build it again
  // here, rewriting the files the other end-to-end tests are running the CLI from at that moment.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--silent'], { cwd: ROOT, timeout: 300_000 })
  const tarball = join(work, packed.stdout.trim().split('\n').pop() ?? '')
  assert.ok(existsSync(tarball), `npm pack made no ${tarball}`)
  const started = Date.now()
  // Dependencies come from npm's cache where it has them (CI's npm ci filled it).
  await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { timeout: 800_000 })
  t.diagnostic(`npm install -g of the tarball took ${Date.now() - started} ms`)
  const installed = join(prefix, 'lib', 'node_modules', 'portico')
  const bin = join(prefix, 'bin', 'portico')
  const env = { ...process.env, PORTICO_HOME: home, PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` }
  const portico = (...args: string[]): Promise<{ stdout: string }> => run(bin, args, { env, cwd: work, timeout: 60_000 })

  assert.match((await portico('--version')).stdout, /^\d+\.\d+\.\d+/)
  assert.match((await portico('--help')).stdout, /Usage: portico/)
  // The native store builds and works: a node with its SQLite store starts and stops.
  await portico('identity', 'create', 'packaged')
  stopNode = () => portico('node', 'stop', 'n1').catch(() => undefined)
  assert.match((await portico('node', 'create', 'n1', '--tcp-listener-address', '127.0.0.1:0')).stdout, /node n1 started/)
  assert.equal(statSync(join(home, 'nodes', 'n1', 'store.sqlite')).mode & 0o777, 0o600)
  assert.match((await portico('node', 'stop', 'n1')).stdout, /stopped/)

  const modules = readdirSync(join(installed, 'node_modules'))
  for (const dev of ['tsx', 'typescript', 'eslint', 'fast-check', '@stryker-mutator', 'influx', 'esbuild', 'puppeteer-core', 'uplot']) assert.ok(!modules.includes(dev), `${dev} was installed`)
  assert.ok(!existsSync(join(installed, 'src')) && !existsSync(join(installed, 'test')), 'sources or tests were packed')
  assert.ok(existsSync(join(installed, 'dist', 'cli', 'main.js')))
  // The console's page is built into the package: nothing is fetched when it runs.
  for (const f of ['index.html', 'app.js', 'app.css']) assert.ok(existsSync(join(installed, 'dist', 'console-web', f)), `dist/console-web/${f} was not packed`)
})
