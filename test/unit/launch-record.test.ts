import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withoutSecrets } from '../../src/cli/launch-record.js'

test('a recorded configuration keeps references to secrets, never their values', () => {
  const text = JSON.stringify({ relay: 'influxdb', store: 'postgres://u:pw@db/x', 'influxdb-outlet': [
    { to: 'db:8086', 'admin-username': 'admin', 'admin-password': 'hunter2', 'shared-secret': '$KEEP_ME', 'leased-token-permissions': [] },
    { from: 'two', to: 'db:8086', 'all-access-token': 'tok-123', 'leased-token-permissions': [] }
  ] })
  const { text: safe, variables } = withoutSecrets(text, 'db-node')
  for (const secret of ['hunter2', 'tok-123', 'pw@']) assert.ok(!safe.includes(secret), secret)
  assert.deepEqual(variables, ['PORTICO_DB_NODE_ADMIN_PASSWORD_0', 'PORTICO_DB_NODE_ALL_ACCESS_TOKEN_1'])
  const parsed = JSON.parse(safe) as { 'influxdb-outlet': Record<string, string>[] }
  assert.equal(parsed['influxdb-outlet'][0]?.['shared-secret'], '$KEEP_ME')
  assert.equal(parsed['influxdb-outlet'][0]?.['admin-password'], '$PORTICO_DB_NODE_ADMIN_PASSWORD_0')
  assert.equal(parsed['influxdb-outlet'][0]?.['admin-username'], 'admin')
})
