import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { ConsoleAccess, SESSION_COOKIE } from '../../src/console/console-access.js'

const PORT = 4321
const req = (method: string, headers: Record<string, string>): IncomingMessage => ({ method, headers } as unknown as IncomingMessage)
const home = `127.0.0.1:${PORT}`

test('the start token opens one session, once; a wrong or reused token opens none', () => {
  const access = new ConsoleAccess(() => PORT)
  const token = access.startToken
  assert.match(token, /^[A-Za-z0-9_-]{43}$/)
  assert.equal(access.exchange(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')), undefined)
  assert.equal(access.exchange(''), undefined)
  const cookie = access.exchange(token)
  assert.match(cookie ?? '', new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/$`))
  assert.equal(access.exchange(token), undefined, 'used once')
  const value = (cookie ?? '').split(';')[0] ?? ''
  assert.equal(access.admitted(req('GET', { host: home, cookie: `other=1; ${value}` })), true)
  assert.equal(access.admitted(req('GET', { host: home, cookie: `${value}x` })), false)
  assert.equal(access.admitted(req('GET', { host: home })), false)
})

test('only the console\'s own host; changes only from its own origin; no cross-site fetches', () => {
  const access = new ConsoleAccess(() => PORT)
  assert.equal(access.refusal(req('GET', { host: home })), undefined)
  assert.equal(access.refusal(req('GET', { host: `localhost:${PORT}` })), undefined)
  assert.match(access.refusal(req('GET', { host: `attacker.example:${PORT}` })) ?? '', /answers only to/)
  assert.match(access.refusal(req('GET', { host: '127.0.0.1:1' })) ?? '', /answers only to/)
  assert.match(access.refusal(req('GET', {})) ?? '', /answers only to/)
  assert.match(access.refusal(req('GET', { host: home, 'sec-fetch-site': 'cross-site' })) ?? '', /cross-site/)
  assert.equal(access.refusal(req('GET', { host: home, 'sec-fetch-site': 'same-origin' })), undefined)
  assert.equal(access.refusal(req('POST', { host: home, origin: `http://${home}` })), undefined)
  assert.match(access.refusal(req('POST', { host: home })) ?? '', /own page/)
  assert.match(access.refusal(req('DELETE', { host: home, origin: 'http://attacker.example' })) ?? '', /own page/)
  assert.match(access.refusal(req('DELETE', { host: home, origin: `https://${home}` })) ?? '', /own page/)
})
