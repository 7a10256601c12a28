// Two loopback targets in their own process: an echo server and a sink that answers the byte count.
import { createServer, type AddressInfo } from 'node:net'
import { countingSink } from './bulk.js'

const echo = createServer((s) => { s.on('error', () => undefined); s.pipe(s) })
const sink = countingSink()
echo.listen(0, '127.0.0.1', () => sink.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ echo: (echo.address() as AddressInfo).port, sink: (sink.address() as AddressInfo).port }) + '\n')
}))
