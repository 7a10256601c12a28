import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { TurnCork } from '../../src/transport/turn-cork.js'

/** A stream that records each batch its writes reach the sink in: writev gets several at once. */
function recordingSink(): { stream: Writable; batches: string[][] } {
  const batches: string[][] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) { batches.push([chunk.toString()]); cb() },
    writev(chunks, cb) { batches.push(chunks.map((c) => (c.chunk as Buffer).toString())); cb() }
  })
  return { stream, batches }
}

test('writes held in one turn of the event loop reach the sink together, in order, and those of the next turn apart', async () => {
  const { stream, batches } = recordingSink()
  const cork = new TurnCork(stream)
  for (const piece of ['a', 'b', 'c']) {
    cork.hold()
    stream.write(piece)
  }
  assert.deepEqual(batches, [], 'nothing leaves before the turn ends')
  await nextTurn()
  cork.hold()
  stream.write('d')
  await nextTurn()
  assert.deepEqual(batches, [['a', 'b', 'c'], ['d']])
})

test('a stream destroyed while held is left destroyed, with no error and no write', async () => {
  const { stream, batches } = recordingSink()
  const errors: Error[] = []
  stream.on('error', (e) => errors.push(e))
  const cork = new TurnCork(stream)
  cork.hold()
  stream.write('lost')
  stream.destroy()
  await nextTurn()
  assert.deepEqual(batches, [])
  assert.equal(stream.destroyed, true)
  assert.deepEqual(errors, [])
})

test('a stream that takes one chunk at a time is not held: its writes go at once', () => {
  const batches: string[] = []
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { batches.push(chunk.toString()); cb() } })
  const cork = new TurnCork(stream)
  cork.hold()
  stream.write('now')
  assert.deepEqual(batches, ['now'])
})
