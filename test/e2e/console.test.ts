import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { once } from 'node:events'
import type { Browser, Page } from 'puppeteer-core'
import { BIN, cli, ok } from '../support/cli.js'
import { freePort } from '../support/postgres.js'
import { startInflux, type InfluxServer } from '../support/influxdb.js'
import { writesAgain } from '../support/node-processes.js'
import { launchBrowser, screenshot, seriousViolations } from '../support/browser.js'

// The console of a real project (project node, outlet in front of a real InfluxDB 1.6.7, a device)
// in headless Chromium: the admin creates a ticket in the page, a device enrolls with it from the
// CLI and writes, and the admin revokes it in the page.
const portico = cli('portico-console-')
let influx: InfluxServer
let consoleProcess: ChildProcess | undefined
let browser: Browser
let page: Page
let url = ''
let origin = ''
let adminId = ''
const devicePort = await freePort()
const admin = (): { username: string; password: string } => ({ username: influx.admin.username, password: influx.admin.password })

const leaseUsers = async (): Promise<string[]> => {
  const r = await influx.query('SHOW USERS', admin())
  return ((JSON.parse(r.body) as { results: { series?: { values: string[][] }[] }[] }).results[0]?.series?.[0]?.values ?? []).map((v) => v[0] ?? '').filter((u) => u.startsWith('portico_lease_'))
}

/** A raw request to the console, with the headers given (fetch would not let a test set Host). */
function raw(method: string, path: string, headers: Record<string, string>): Promise<number> {
  const { port } = new URL(origin)
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    // Only a POST carries a body: a DELETE's would be read as a next request.
    if (method === 'POST') req.setHeader('content-length', 2)
    req.end(method === 'POST' ? '{}' : undefined)
  })
}

// Code run in the page is given as text: this file is compiled for Node, without the DOM's types.
const textOf = (p: Page): Promise<string> => p.evaluate('document.body.innerText') as Promise<string>
const shows = async (text: string, present = true): Promise<void> => {
  await page.waitForFunction(`document.body.innerText.includes(${JSON.stringify(text)}) === ${String(present)}`, { timeout: 20_000 })
}
const visit = async (name: string): Promise<void> => {
  await page.evaluate(`location.hash = ${JSON.stringify(name)}`)
  await page.waitForFunction(`document.querySelector('nav a[href="#${name}"]')?.getAttribute('aria-current') === 'page'`)
}

before(async () => {
  influx = await startInflux()
  await influx.query('CREATE DATABASE dev1', admin())
  adminId = await ok(portico, 'identity', 'create', 'admin')
  await ok(portico, 'authority', 'create', '--tcp-listener-address', '127.0.0.1:0')
  await ok(portico, 'identity', 'create', 'outlet')
  await ok(portico, 'enroll', await ok(portico, 'ticket', 'create', '--attribute', 'influxdb-outlet=true', '--relay', 'influxdb'), '--identity', 'outlet')
  portico.env.INFLUX_PASSWORD = influx.admin.password
  await ok(portico, 'node', 'create', 'outlet', '--identity', 'outlet', '--configuration', JSON.stringify({
    relay: 'influxdb',
    'influxdb-outlet': {
      to: influx.address, api: 'v1', allow: 'influxdb-inlet', 'admin-allow': `(= subject.identifier "${adminId}")`,
      'admin-username': influx.admin.username, 'admin-password': '$INFLUX_PASSWORD', 'leased-token-expires-in': '1h',
      'leased-token-permissions': [{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]
    }
  }))
  consoleProcess = spawn(process.execPath, [BIN, 'console', '--identity', 'admin'], { env: portico.env, stdio: ['ignore', 'pipe', 'inherit'] })
  const [line] = await once(consoleProcess.stdout ?? consoleProcess, 'data') as [Buffer]
  url = /^open (\S+)/.exec(line.toString())?.[1] ?? ''
  origin = new URL(url).origin
  browser = await launchBrowser()
  page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 900 })
})

after(async () => {
  await browser?.close()
  consoleProcess?.kill('SIGTERM')
  for (const n of ['device', 'outlet', 'authority']) await portico('node', 'delete', n)
  await influx?.stop()
})

test('the printed link opens the console once; without its cookie, from another host or another origin, nothing is answered', async () => {
  await page.goto(url)
  assert.equal(page.url(), `${origin}/`, 'the token leaves the address bar')
  const cookies = await browser.cookies()
  const session = cookies.find((c) => c.name === 'portico_console')
  assert.ok(session?.httpOnly === true && session.sameSite === 'Strict')
  await shows('live leases')
  // The link works once: a copy of it from a shoulder or a log opens nothing.
  assert.equal(await raw('GET', new URL(url).pathname + new URL(url).search, { host: new URL(origin).host }), 401)
  const cookie = `portico_console=${session.value}`
  assert.equal(await raw('GET', '/api/snapshot', { host: new URL(origin).host }), 401, 'no cookie')
  assert.equal(await raw('GET', '/api/snapshot', { host: new URL(origin).host, cookie }), 200)
  assert.equal(await raw('GET', '/api/snapshot', { host: `evil.example:${new URL(origin).port}`, cookie }), 403, 'DNS rebinding')
  assert.equal(await raw('POST', '/api/tickets', { host: new URL(origin).host, cookie, origin: 'http://evil.example', 'content-type': 'application/json' }), 403, 'cross-origin')
  assert.equal(await raw('DELETE', `/api/members/${adminId}`, { host: new URL(origin).host, cookie, 'sec-fetch-site': 'cross-site', origin }), 403, 'cross-site')
})

test('every page: screenshot, and no serious or critical accessibility violation', async (t) => {
  for (const name of ['overview', 'members', 'tickets', 'relays', 'leases', 'events']) {
    await visit(name)
    t.diagnostic(`screenshot ${await screenshot(page, `console-${name}`)}`)
    const found = await seriousViolations(page)
    assert.deepEqual(found.map((v) => `${v.id}: ${v.help}`), [], `page ${name}`)
  }
  // On a phone: the same pages, nothing wider than the screen but the tables' own scrolling.
  await page.setViewport({ width: 390, height: 844, isMobile: true })
  try {
    for (const name of ['members', 'tickets']) {
      await visit(name)
      assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, `page ${name} is wider than a phone`)
      t.diagnostic(`screenshot ${await screenshot(page, `console-${name}-phone`)}`)
    }
  } finally {
    await page.setViewport({ width: 1280, height: 900 })
  }
})

test('a ticket made in the page enrolls a device from the CLI; the member and its lease appear live; deleting it in the page revokes the lease in InfluxDB', async (t) => {
  await visit('tickets')
  await page.type('textarea[name=attributes]', 'influxdb-inlet=true\nbucket=dev1')
  await page.click('button[type=submit]')
  await page.waitForSelector('#new-ticket')
  const ticket = await page.evaluate('document.getElementById("new-ticket").value') as string
  assert.ok(await page.$('img.qr') !== null, 'the ticket as a QR code')
  t.diagnostic(`screenshot ${await screenshot(page, 'console-ticket-created')}`)

  await visit('members')
  await ok(portico, 'identity', 'create', 'device')
  await ok(portico, 'node', 'create', 'device', '--identity', 'device', '--enrollment-ticket', ticket, '--configuration', `influxdb-inlet: {from: ${devicePort}, via: influxdb, allow: influxdb-outlet}`)
  const deviceId = (JSON.parse(await ok(portico, 'node', 'show', 'device', '--output', 'json')) as { identifier: string }).identifier
  await shows(deviceId)
  assert.match(await textOf(page), /bucket=dev1/)
  t.diagnostic(`screenshot ${await screenshot(page, 'console-members-live')}`)

  await writesAgain(devicePort, 'dev1', Date.now())
  const [user] = await leaseUsers()
  assert.ok(user !== undefined, 'the device writes with a lease of its own')
  await visit('leases')
  await shows(deviceId)
  t.diagnostic(`screenshot ${await screenshot(page, 'console-leases-live')}`)

  await visit('members')
  page.once('dialog', (d) => { void d.accept() })
  await page.click(`button[aria-label="Delete member ${deviceId}"]`)
  const deleted = Date.now()
  for (;;) {
    if (!(await leaseUsers()).includes(user)) break
    assert.ok(Date.now() - deleted < 20_000, 'the lease user is still in InfluxDB 20 s after the member was deleted')
    await new Promise((r) => setTimeout(r, 250))
  }
  t.diagnostic(`the device's lease user left InfluxDB ${Date.now() - deleted} ms after the click`)
  await visit('leases')
  await shows(deviceId, false)
  await visit('events')
  const events = await textOf(page)
  assert.match(events, /member-added/)
  assert.match(events, /member-deleted/)
  assert.match(events, /lease-revoked/)
  t.diagnostic(`screenshot ${await screenshot(page, 'console-events')}`)
})
