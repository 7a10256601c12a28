// The far side of bench:channel, in its own process: a Portico node with a byte sink, and a raw
// TCP sink for the baseline. Prints its ports as one JSON line; exits when stdin closes.
import { createServer } from 'node:net'
import { once } from 'node:events'
import { nodeCrypto } from '../src/crypto/node-crypto.js'
import { LocalIdentity } from '../src/identity/local-identity.js'
import { MemoryVault } from '../src/identity/vault.js'
import { PorticoNode } from '../src/node/portico-node.js'
import { silentLogger } from '../src/log/logger.js'
import { local } from '../src/routing/address.js'

import { ACK_EVERY } from './channel-ack.js'

const node = await PorticoNode.start({ name: 'peer', identity: LocalIdentity.create(nodeCrypto, new MemoryVault()), log: silentLogger, tcpListenerAddress: '127.0.0.1:0' })
let count = 0
node.router.register('sink', {
  handleMessage(msg) {
    count++
    if (count % ACK_EVERY === 0) node.router.send({ onward: msg.return, return: [local('sink')], payload: Buffer.from(String(count)) })
  }
})

// Raw TCP baseline: the client sends a u64 length, then that many bytes; we answer one byte at the end.
const raw = createServer((s) => {
  let expected = -1n
  let got = 0n
  s.on('data', (chunk: Buffer) => {
    let data = chunk
    if (expected < 0n) {
      expected = data.readBigUInt64BE(0)
      data = data.subarray(8)
    }
    got += BigInt(data.byteLength)
    if (got >= expected) {
      s.write(Buffer.of(1))
      expected = -1n
      got = 0n
    }
  })
})
raw.listen(0, '127.0.0.1')
await once(raw, 'listening')
const rawPort = (raw.address() as { port: number }).port
console.log(JSON.stringify({ portico: node.listenAddress, raw: rawPort, identifier: node.identifier }))
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
