import { test } from 'node:test'
import assert from 'node:assert/strict'
import { logLineProblems, topLevelKeys } from '../support/log-lines.js'

// The log checks of the e2e tests must be able to fail: a repeated key and a plain line are found.
test('log line checks find a key written twice and a line that is not JSON, and pass clean lines', () => {
  assert.deepEqual(topLevelKeys('{"a":1,"b":{"a":2,"c":[{"a":3}]},"s":"x,\\"a\\":","d":null}'), ['a', 'b', 's', 'd'])
  assert.deepEqual(logLineProblems('{"level":30,"relay":"db","msg":"ok"}\n{"level":30,"nested":{"relay":"db"},"relay":"db"}\n'), [])
  const problems = logLineProblems('{"level":30,"relay":"db","relay":"db","msg":"relay registered"}\nerror: the node stopped (store)\n')
  assert.equal(problems.length, 2)
  assert.match(problems[0] ?? '', /key relay twice/)
  assert.match(problems[1] ?? '', /not JSON: error: the node stopped/)
})
