import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HeldBody } from '../../src/influxdb/inlet/held-body.js'
import { MAX_RETRY_BODY_BYTES } from '../../src/influxdb/inlet/inlet-limits.js'

test('a held body gives its waiting pieces back once, in order, with their size', () => {
  const body = new HeldBody()
  body.hold(Buffer.from('ab'))
  body.hold(Buffer.from('cde'))
  const { pieces, bytes } = body.release()
  assert.deepEqual(pieces.map((p) => p.toString()), ['ab', 'cde'])
  assert.equal(bytes, 5)
  assert.deepEqual(body.release(), { pieces: [], bytes: 0 })
})

test('the copy for sending again is the whole body up to the limit, and given up for good past it', () => {
  const body = new HeldBody()
  const half = Buffer.alloc(MAX_RETRY_BODY_BYTES / 2, 1)
  body.keep(half)
  body.keep(half)
  assert.equal(body.whole?.reduce((n, p) => n + p.length, 0), MAX_RETRY_BODY_BYTES)
  body.keep(Buffer.of(2))
  assert.equal(body.whole, undefined)
  body.keep(Buffer.of(3))
  assert.equal(body.whole, undefined)
})

test('a forgotten copy is not kept again', () => {
  const body = new HeldBody()
  body.keep(Buffer.from('x'))
  body.forget()
  body.keep(Buffer.from('y'))
  assert.equal(body.whole, undefined)
})
