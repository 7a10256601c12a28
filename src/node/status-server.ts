import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'

export const DEFAULT_STATUS_HOST = '127.0.0.1'

export interface StatusSource {
  /** Reasons the node is not ready; empty when it is. */
  notReady(): string[]
  show(): unknown
  registry: Registry
}

/**
 * `/healthz` (the process answers), `/readyz` (listening, enrolled, holding a credential),
 * `/show` (resources as JSON) and `/metrics` (Prometheus). Loopback unless told otherwise:
 * it tells an onlooker what the node is connected to.
 */
export async function startStatusServer(source: StatusSource, port: number, host: string, log: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    const json = (status: number, body: unknown): void => {
      const text = JSON.stringify(body, null, 2)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      res.end(text)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(405, { error: 'only GET' })
      return
    }
    const path = (req.url ?? '/').split('?')[0]
    switch (path) {
      case '/healthz':
        json(200, { status: 'ok' })
        return
      case '/readyz': {
        const reasons = source.notReady()
        json(reasons.length === 0 ? 200 : 503, reasons.length === 0 ? { status: 'ready' } : { status: 'not ready', reasons })
        return
      }
      case '/show':
        json(200, source.show())
        return
      case '/metrics':
        source.registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': source.registry.contentType })
          res.end(text)
        }, (err: unknown) => {
          log.warn({ err: (err as Error).message }, 'metrics failed')
          json(500, { error: 'metrics failed' })
        })
        return
      default:
        json(404, { error: `no such path: ${path ?? ''}`, paths: ['/healthz', '/readyz', '/show', '/metrics'] })
    }
  })
  server.listen(port, host)
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => { throw err as Error })])
  log.info({ address: server.address() }, 'status server listening')
  return server
}
