import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setNewest } from '../../src/util/recency-map.js'

test('a recency map keeps at most its capacity, drops the oldest first, and a key set again becomes the newest', () => {
  const m = new Map<string, number>()
  for (const k of ['a', 'b', 'c']) setNewest(m, k, 1, 3)
  setNewest(m, 'a', 2, 3)
  assert.deepEqual([...m], [['b', 1], ['c', 1], ['a', 2]])
  setNewest(m, 'd', 1, 3)
  assert.deepEqual([...m.keys()], ['c', 'a', 'd'])
  setNewest(m, 'd', 3, 3)
  assert.equal(m.size, 3, 'setting a key already there dropped another')
  assert.deepEqual([...m], [['c', 1], ['a', 2], ['d', 3]])
})
