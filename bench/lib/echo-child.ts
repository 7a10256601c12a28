// Run as a child process by hop-latency.ts: a TCP echo server on 127.0.0.1 that sends its port
// to the parent, then echoes every read back at once.
import { createServer, type AddressInfo } from 'node:net'

const server = createServer((c) => {
  c.setNoDelay(true)
  c.on('error', () => undefined)
  c.on('data', (d) => c.write(d))
})
server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port))
process.on('disconnect', () => process.exit(0))
