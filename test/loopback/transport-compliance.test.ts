// The transport compliance suite (test/compliance/transport.ts) on every transport implementation.
import { Router } from '../../src/routing/router.js'
import { TcpTransport } from '../../src/transport/tcp-transport.js'
import { MemoryHub, MemoryTransport, MEMORY } from '../../src/transport/memory-transport.js'
import { silentLogger } from '../../src/log/logger.js'
import { transportCompliance } from '../compliance/transport.js'

transportCompliance('tcp', async () => {
  const a = new Router(silentLogger)
  const b = new Router(silentLogger)
  const ta = new TcpTransport(a, silentLogger)
  const tb = new TcpTransport(b, silentLogger)
  const { port } = await tb.listen('127.0.0.1:0')
  const peer = `127.0.0.1:${port}`
  return { a, b, bAddress: { type: ta.type, value: peer }, disconnect: () => ta.disconnect(peer), close: async () => { await ta.close(); await tb.close() } }
})

transportCompliance('memory', () => {
  const hub = new MemoryHub()
  const a = new Router(silentLogger)
  const b = new Router(silentLogger)
  const ta = new MemoryTransport(a, silentLogger, hub)
  const tb = new MemoryTransport(b, silentLogger, hub)
  tb.listen('b')
  return Promise.resolve({ a, b, bAddress: { type: MEMORY, value: 'b' }, disconnect: () => ta.disconnect('b'), close: async () => { await ta.close(); await tb.close() } })
})
