// One process of bench/lib/tcp-hop-chain.ts: forwards to the address given as its first argument
// and sends its own listening port to its parent. Its second argument is the kind of hop: `tcp`
// forwards bytes; `http` is the plainest `node:http` proxy (Node's server and a keep-alive client,
// the machinery the influxdb inlet was first built on), and nothing else.
import { connect, createServer, type AddressInfo, type Server } from 'node:net'
import { Agent, createServer as createHttpServer, request } from 'node:http'
import { parseHostPort } from '../../src/transport/host-port.js'

/** One hop: every accepted connection is piped both ways to a connection of its own to `to`. */
function tcpHop(to: string): Server {
  const { host, port } = parseHostPort(to)
  return createServer((client) => {
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
}

/** One HTTP hop: each request is sent on over kept-alive connections to `to`, its answer piped back. */
function httpHop(to: string): Server {
  const { host, port } = parseHostPort(to)
  const agent = new Agent({ keepAlive: true })
  return createHttpServer({ keepAlive: true, requestTimeout: 0 }, (req, res) => {
    const upstream = request({ host, port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
}

const server = process.argv[3] === 'http' ? httpHop(process.argv[2] ?? '') : tcpHop(process.argv[2] ?? '')
server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port))
process.on('disconnect', () => process.exit(0))
