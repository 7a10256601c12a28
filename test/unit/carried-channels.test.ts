import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CarriedChannels, MAX_CARRIED_CHANNELS } from '../../src/transport/carried-channels.js'

test('a connection answers for the channels it carried, and forgets the oldest past its bound', () => {
  const c = new CarriedChannels('tcp-1')
  assert.equal(c.carried('sc-a'), false)
  c.note('sc-a')
  c.note('sc-a')
  assert.equal(c.carried('sc-a'), true)
  for (let i = 0; i < MAX_CARRIED_CHANNELS - 1; i++) c.note(`sc-${i}`)
  assert.equal(c.carried('sc-a'), true, 'at the bound, nothing is forgotten')
  c.note('sc-one-more')
  assert.equal(c.carried('sc-a'), false, 'the oldest is forgotten first')
  assert.equal(c.carried('sc-0'), true)
  assert.equal(c.carried('sc-one-more'), true)
  assert.equal(c.connection, 'tcp-1')
})
