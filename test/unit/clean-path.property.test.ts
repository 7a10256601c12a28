import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { cleanPath } from '../../src/influxdb/http/forwarding.js'

/** Parameter names as a server decodes them: Go before 1.17 splits at `&` and `;`, Go 1.17 and later at `&` and skips segments with a `;`. */
function names(url: string, oldGo: boolean): string[] {
  const q = url.indexOf('?')
  if (q < 0) return []
  const segments = url.slice(q + 1).split('&')
  const pairs = oldGo ? segments.flatMap((s) => s.split(';')) : segments.filter((s) => !s.includes(';'))
  return pairs.flatMap((pair) => {
    const raw = pair.split('=')[0]?.replaceAll('+', ' ') ?? ''
    try {
      return [decodeURIComponent(raw)]
    } catch {
      return [] // the server refuses it: no parameter
    }
  })
}

const credentialName = fc.constantFrom('u', 'p', '%75', '%70')
const otherName = fc.oneof(fc.constantFrom('db', 'q', 'rp', 'precision', 'U', 'P', 'user', 'pu', '%7', 'u%', ''), fc.stringMatching(/^[A-Za-z0-9%+._-]{0,8}$/))
const value = fc.oneof(fc.stringMatching(/^[A-Za-z0-9%+._*=-]{0,12}$/), fc.constant(''))
const pair = fc.tuple(fc.oneof(credentialName, otherName), fc.option(value)).map(([n, v]) => (v === null ? n : `${n}=${v}`))
const segment = fc.array(pair, { minLength: 1, maxLength: 3 }).map((ps) => ps.join(';'))
const target = fc.tuple(fc.constantFrom('/write', '/query', '/api/v2/write', '/'), fc.array(segment, { maxLength: 8 }))
  .map(([path, segs]) => (segs.length === 0 ? path : `${path}?${segs.join('&')}`))

test('no u or p reaches the database, whichever way the server splits parameters', () => {
  fc.assert(fc.property(target, (url) => {
    const clean = cleanPath(url)
    for (const oldGo of [true, false]) {
      const left = names(clean, oldGo).filter((n) => n === 'u' || n === 'p')
      assert.deepEqual(left, [], `${url} -> ${clean}`)
    }
    const seen = new URLSearchParams(clean.includes('?') ? clean.slice(clean.indexOf('?') + 1) : '')
    assert.equal(seen.has('u') || seen.has('p'), false)
  }), { numRuns: 3000 })
})

test('every other parameter goes on byte for byte and in order', () => {
  fc.assert(fc.property(target, (url) => {
    const q = url.indexOf('?')
    const clean = cleanPath(url)
    assert.ok(clean.startsWith(q < 0 ? url : url.slice(0, q)))
    if (q < 0) return assert.equal(clean, url)
    const plain = url.slice(q + 1).split('&').filter((s) => !s.includes(';') && !['u', 'p'].includes(names(`?${s}`, false)[0] ?? ''))
    const keptPlain = clean.includes('?') ? clean.slice(clean.indexOf('?') + 1).split('&').filter((s) => !s.includes(';')) : []
    assert.deepEqual(keptPlain, plain)
  }), { numRuns: 3000 })
})

test('credential parameters in their usual and their hostile spellings', () => {
  const cases: [string, string][] = [
    ['/write?u=admin&db=d&p=secret&precision=s', '/write?db=d&precision=s'],
    ['/query?q=SELECT%20*%20FROM%20m&u=a&p=b', '/query?q=SELECT%20*%20FROM%20m'],
    ['/query?%75=admin&%70=secret&db=d', '/query?db=d'],
    ['/write?db=d;u=admin;p=secret&rp=r', '/write?rp=r'],
    ['/write?u&p', '/write'],
    ['/write?U=1&P=2&user=3', '/write?U=1&P=2&user=3'],
    ['/write?db=d&&u=x', '/write?db=d&'],
    ['/ping', '/ping']
  ]
  for (const [from, to] of cases) assert.equal(cleanPath(from), to, from)
})
