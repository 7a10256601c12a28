// One process of bench/lib/tcp-hop-chain.ts: forwards TCP to the address given as its argument
// and sends its own listening port to its parent.
import { connect, createServer, type AddressInfo } from 'node:net'
import { parseHostPort } from '../../src/transport/host-port.js'

/** One hop: every accepted connection is piped both ways to a connection of its own to `to`. */
function serveHop(to: string): void {
  const { host, port } = parseHostPort(to)
  const server = createServer((client) => {
    const upstream = connect({ host, port })
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port))
  process.on('disconnect', () => process.exit(0))
}

serveHop(process.argv[2] ?? '')
