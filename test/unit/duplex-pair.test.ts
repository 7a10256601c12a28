import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { duplexPair, DUPLEX_PAIR_BUFFER_BYTES } from '../../src/transport/duplex-pair.js'

test('duplex pair: bytes cross both ways, half-close ends the other side', async () => {
  const [a, b] = duplexPair()
  const got: Buffer[] = []
  b.on('data', (c: Buffer) => got.push(c))
  a.end(Buffer.from('hello'))
  await once(b, 'end')
  assert.equal(Buffer.concat(got).toString(), 'hello')
  b.end('back')
  const [answer] = await once(a, 'data') as [Buffer]
  assert.equal(answer.toString(), 'back')
})

test('duplex pair: a stalled reader holds the writer back, and it resumes when read', async () => {
  const [a, b] = duplexPair()
  const chunk = Buffer.alloc(16 * 1024, 1)
  let accepted = 0
  while (a.write(chunk)) accepted += chunk.length
  // The reader has not read: what is in flight is bounded by the two buffers, not by what was offered.
  assert.ok(accepted <= 2 * DUPLEX_PAIR_BUFFER_BYTES, `accepted ${accepted} bytes into a stalled pair`)
  let drained = false
  a.once('drain', () => { drained = true })
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(drained, false, 'no drain while nobody reads')
  b.resume()
  await once(a, 'drain')
})

test('duplex pair: destroying one end destroys the other', async () => {
  const [a, b] = duplexPair()
  a.destroy()
  await once(b, 'close')
  assert.equal(b.destroyed, true)
})
