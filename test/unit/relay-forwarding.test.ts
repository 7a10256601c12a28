import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Router, allowAll } from '../../src/routing/router.js'
import { local } from '../../src/routing/address.js'
import type { LocalMessage, SecureChannelInfo } from '../../src/routing/message.js'
import { RelayService, forwarderAddress } from '../../src/relay/relay-service.js'
import { callRpc } from '../../src/services/rpc.js'
import { silentLogger } from '../../src/log/logger.js'

const member: SecureChannelInfo = { identifier: 'Ioutlet', attributes: { relay: 'db' }, hasCredential: true, channel: 'chan' }

/** A relay registered over channel `chan`, whose node's connection worker is `carrier`; records where forwarded messages go. */
async function relay(): Promise<{ router: Router; arrived: string[] }> {
  const router = new Router(silentLogger)
  const arrived: string[] = []
  for (const at of ['chan', 'carrier']) {
    router.register(at, { handleMessage: () => { arrived.push(at) }, handleParts: () => { arrived.push(at) } })
  }
  // Stands in for the registering node's channel: what goes to the relay service carries its identity.
  router.register('sc', {
    handleMessage(m: LocalMessage) {
      const onward = m.onward.slice(1)
      router.send({ onward, return: [local('sc'), ...m.return], payload: m.payload, ...(onward[0]?.value === 'relay' ? { secureChannel: member } : {}) })
    }
  })
  new RelayService({ router, log: silentLogger, access: allowAll, onChannelClose: () => undefined, carrierOf: () => local('carrier') }).start()
  await callRpc(router, [local('sc'), local('relay')], 'register', { name: 'db' })
  return { router, arrived }
}

test('a relay sends what came out of a secure channel back into one, whole or in pieces, and plain messages down the connection', async () => {
  const { router, arrived } = await relay()
  const onward = [local(forwarderAddress('db')), local('far')]
  const parts = [Uint8Array.of(1, 2), Uint8Array.of(3)]
  router.send({ onward, return: [], payload: Uint8Array.of(1, 2, 3), secureChannel: member })
  router.sendParts({ onward, return: [], parts, length: 3, secureChannel: member })
  router.send({ onward, return: [], payload: Uint8Array.of(1, 2, 3) })
  router.sendParts({ onward, return: [], parts, length: 3 })
  assert.deepEqual(arrived, ['chan', 'chan', 'carrier', 'carrier'])
})
