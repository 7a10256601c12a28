import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { NODE_V8_FLAGS, nodeProcessFlags } from '../../src/cli/node-flags.js'

test('background nodes get our V8 flags first, then PORTICO_NODE_FLAGS', () => {
  assert.deepEqual(nodeProcessFlags({}), [...NODE_V8_FLAGS])
  assert.deepEqual(nodeProcessFlags({ PORTICO_NODE_FLAGS: ' --cpu-prof  --cpu-prof-dir=/tmp/p ' }), [...NODE_V8_FLAGS, '--cpu-prof', '--cpu-prof-dir=/tmp/p'])
})

test('the installed binary starts Node with the same flags, so a node run in the foreground by a supervisor gets them too', () => {
  const shebang = readFileSync(new URL('../../bin/portico.js', import.meta.url), 'utf8').split('\n')[0] ?? ''
  assert.equal(shebang, `#!/usr/bin/env -S node ${NODE_V8_FLAGS.join(' ')}`)
})
