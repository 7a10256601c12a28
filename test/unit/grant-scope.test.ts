import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isReservedAttribute, outsideScope, ScopePattern } from '../../src/authority/grant-scope.js'

// What an enroller's tickets may grant: its scope's patterns, or without one, anything but the
// attributes that decide who serves whom.

test('a scope pattern is NAME=VALUE, NAME=* or NAME=PREFIX*, nothing around it', () => {
  for (const ok of ['site=7', 'site=*', 'site=eu-*', 'a.b:c_d-e=', 'x=with space']) assert.equal(ScopePattern.safeParse(ok).success, true, ok)
  for (const bad of ['site=a*b', 'site=**', 'site=7*\n', ' site=7', '!site=7', 'site', '=7', `${'n'.repeat(129)}=1`]) {
    const r = ScopePattern.safeParse(bad)
    assert.equal(r.success, false, JSON.stringify(bad))
    if (!r.success) assert.match(r.error.issues[0]?.message ?? '', /NAME=VALUE, NAME=\* or NAME=PREFIX\*/)
  }
})

test('an exact pattern grants that value only; a prefix pattern the values that start with it', () => {
  assert.deepEqual(outsideScope({ site: '7' }, ['site=7']), [])
  assert.deepEqual(outsideScope({ site: '70' }, ['site=7']), ['site=70'])
  assert.deepEqual(outsideScope({ site: '' }, ['site=7']), ['site='])
  assert.deepEqual(outsideScope({ site: 'eu-1' }, ['site=eu-*']), [])
  assert.deepEqual(outsideScope({ site: 'us-1' }, ['site=eu-*']), ['site=us-1'])
  assert.deepEqual(outsideScope({ site: 'anything' }, ['site=*']), [])
  assert.deepEqual(outsideScope({ region: 'eu' }, ['site=*']), ['region=eu'], 'another name is outside')
})

test('without a scope an enroller grants anything but relay and outlet attributes', () => {
  for (const name of ['relay', 'outlet', 'influxdb-outlet', 'db-outlet']) {
    assert.equal(isReservedAttribute(name), true, name)
    assert.deepEqual(outsideScope({ [name]: 'true' }, undefined), [`${name}=true`])
  }
  for (const name of ['site', 'influxdb-inlet', 'outlets', 'relayed']) assert.equal(isReservedAttribute(name), false, name)
  assert.deepEqual(outsideScope({ site: '7', 'influxdb-inlet': 'true' }, undefined), [])
})
