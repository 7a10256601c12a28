import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import { rmSync, chmodSync } from 'node:fs'
import { once } from 'node:events'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { NodeRuntime } from './node-runtime.js'
import { InfluxdbInletConfig, InfluxdbOutletConfig, TcpInletConfig, TcpOutletConfig } from './config.js'
import { RelayName } from '../relay/relay-service.js'
import { nowSeconds } from '../identity/signed-data.js'
import { describeIssues } from '../encoding/validation.js'
import type { PortalKind } from './portals.js'
import { codeOf, HTTP_STATUS, kindOf, PorticoError, type ErrorKind } from '../util/errors.js'

/** A control request body larger than this is refused before it is read further. */
export const MAX_CONTROL_BODY = 64 * 1024

const ChannelRequest = z.object({ to: z.string().max(1024), authorized: z.string().optional(), timeoutMs: z.number().int().positive().max(120_000).optional() }).strict()
const RelayRequest = z.object({ name: RelayName, at: z.string().max(1024).optional(), shared: z.boolean().optional() }).strict()
const PolicyRequest = z.object({ resource: z.string().min(1).max(128), expression: z.string().min(1).max(4096) }).strict()
const MessageRequest = z.object({ to: z.string().max(1024), text: z.string().max(MAX_CONTROL_BODY), timeoutMs: z.number().int().positive().max(120_000).optional() }).strict()

/** A control request the server refuses itself, with the HTTP status to answer. */
export class ControlError extends PorticoError {
  override name = 'ControlError'
  override readonly code = 'control'
  override readonly kind: ErrorKind
  constructor(readonly status: number, message: string) {
    super(message)
    this.kind = status === 404 ? 'not-found' : status === 409 ? 'conflict' : status < 500 ? 'bad-input' : 'internal'
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > MAX_CONTROL_BODY) throw new ControlError(413, 'request body too large')
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
  } catch {
    throw new ControlError(400, 'request body is not JSON')
  }
}

/**
 * The node's control API, for the CLI: HTTP/JSON on a Unix socket in the node's state folder
 * (0600), so only the node's user can drive it and no TCP port is opened for it.
 */
export async function startControlServer(runtime: NodeRuntime, socketPath: string, log: Logger, onStop: () => void): Promise<Server> {
  const node = runtime.node
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<unknown> => {
    const route = `${req.method ?? ''} ${req.url ?? ''}`
    if (req.method === 'DELETE' && req.url?.startsWith('/policies/') === true) {
      const resource = decodeURIComponent(req.url.slice('/policies/'.length))
      if (!await runtime.policies.delete(resource)) throw new ControlError(404, `no policy for resource '${resource}'`)
      return { deleted: resource }
    }
    // GET /tcp-inlets, DELETE /tcp-inlets/NAME (URL-encoded: an inlet's name is its address), and so on for every kind.
    const portal = /^\/(tcp-outlet|tcp-inlet|influxdb-outlet|influxdb-inlet|relay)s(?:\/([^/?]+))?$/.exec(req.url ?? '')
    const kind = portal?.[1] as PortalKind | undefined
    if (kind !== undefined && req.method === 'GET' && portal?.[2] === undefined) return runtime.portals.list(kind)
    if (kind !== undefined && req.method === 'DELETE' && portal?.[2] !== undefined) {
      const name = decodeURIComponent(portal[2])
      await runtime.portals.remove(kind, name)
      return { deleted: name, kind }
    }
    switch (route) {
      case 'GET /show':
        return runtime.show()
      case 'GET /policies':
        return runtime.policies.list()
      case 'POST /policies': {
        const body = PolicyRequest.parse(await readJson(req))
        const policy = await runtime.policies.set(body.resource, body.expression, nowSeconds())
        return { resource: body.resource, expression: policy.source, canonical: policy.toString() }
      }
      case 'GET /secure-channels':
        return node.listChannels()
      case 'POST /secure-channels': {
        const body = ChannelRequest.parse(await readJson(req))
        const route = await node.resolve(body.to, {
          ...(body.authorized !== undefined ? { authorized: body.authorized } : {}),
          ...(body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {})
        })
        const address = route[0]?.value ?? ''
        const channel = node.channels.get(address)
        return { address: `/service/${address}`, peer: channel?.peer.identifier ?? null, route: route.map((a) => a.value) }
      }
      case 'POST /tcp-outlets':
        return runtime.portals.addOutlet(TcpOutletConfig.parse(await readJson(req)))
      case 'POST /tcp-inlets':
        return runtime.portals.addInlet(TcpInletConfig.parse(await readJson(req)))
      case 'POST /influxdb-outlets':
        return runtime.portals.addInfluxdbOutlet(InfluxdbOutletConfig.parse(await readJson(req)))
      case 'POST /influxdb-inlets':
        return runtime.portals.addInfluxdbInlet(InfluxdbInletConfig.parse(await readJson(req)))
      case 'POST /relays': {
        const body = RelayRequest.parse(await readJson(req))
        return runtime.portals.addRelay(body.name, body.at, body.shared === true)
      }
      case 'POST /messages': {
        const body = MessageRequest.parse(await readJson(req))
        const route = await node.resolve(body.to)
        const reply = await node.send(route, Buffer.from(body.text, 'utf8'), body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {})
        return { reply: Buffer.from(reply).toString('utf8') }
      }
      case 'POST /stop':
        setImmediate(onStop)
        res.setHeader('connection', 'close')
        return { stopping: true }
      default:
        throw new ControlError(404, `no such control endpoint: ${route}`)
    }
  }
  const server = createServer((req, res) => {
    handle(req, res).then(
      (body) => send(res, 200, body),
      (err: unknown) => {
        const status = err instanceof ControlError ? err.status : err instanceof z.ZodError ? 400 : HTTP_STATUS[kindOf(err)]
        const message = err instanceof z.ZodError ? `invalid request: ${describeIssues(err)}` : (err as Error).message
        log.warn({ url: req.url, status, err: message }, 'control request failed')
        const [code, kind] = err instanceof z.ZodError ? ['bad-request', 'bad-input'] : [codeOf(err), kindOf(err)]
        send(res, status, { error: message, code, kind })
      }
    )
  })
  rmSync(socketPath, { force: true })
  server.listen(socketPath)
  await once(server, 'listening')
  chmodSync(socketPath, 0o600)
  return server
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
