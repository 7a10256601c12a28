import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { CreatedTicket } from '../authority/authority-client.js'
import { HTTP_STATUS, kindOf } from '../util/errors.js'
import { ConsoleAccess } from './console-access.js'
import type { ProjectView } from './project-view.js'

export const CONSOLE_HOST = '127.0.0.1'
/** A request body the console reads at most (a ticket's attributes). */
export const MAX_CONSOLE_BODY = 16 * 1024
/** Browsers following the event stream at once. */
export const MAX_EVENT_STREAMS = 32
/** A comment on each event stream this often, so proxies and browsers keep it open. */
export const EVENT_STREAM_KEEPALIVE_MS = 15_000
/** Events a page gets with its first look (the newest). */
const EVENTS_IN_SNAPSHOT = 100

const ASSETS: Readonly<Record<string, string>> = {
  '/': 'index.html', '/app.js': 'app.js', '/app.css': 'app.css'
}
const TYPES: Readonly<Record<string, string>> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' }
const HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store', 'x-frame-options': 'DENY'
}

const TicketRequest = z.object({
  attributes: z.record(z.string().min(1).max(128), z.string().max(1024)).default({}),
  relay: z.string().min(1).max(64).optional(),
  usageCount: z.number().int().positive().max(1_000_000).default(1),
  expiresInSeconds: z.number().int().positive().max(30 * 24 * 3600).default(600)
}).strict()

/** What the console may do, each as its identity (an admin, an enroller, a lease admin) may from the CLI. */
export interface ConsoleActions {
  createTicket(request: { attributes: Record<string, string>; usageCount: number; expiresIn: number }): Promise<CreatedTicket>
  revokeTicket(id: string): Promise<void>
  deleteMember(identifier: string): Promise<void>
  revokeLeasesOf(relay: string, identifier: string): Promise<number>
}

export interface ConsoleOptions {
  port: number
  view: ProjectView
  actions: ConsoleActions
  /** The folder of the built page (index.html, app.js, app.css). */
  assets: string
  log: Logger
}

export interface RunningConsole {
  server: Server
  port: number
  /** The URL to open, with the one-time token. */
  url: string
  close(): Promise<void>
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_CONSOLE_BODY) throw new HttpError(413, `a request body is limited to ${MAX_CONSOLE_BODY} bytes`)
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
  } catch {
    throw new HttpError(400, 'the body is not JSON')
  }
}

function send(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...HEADERS, 'content-type': 'application/json', ...extra })
  res.end(JSON.stringify(body))
}

/** Serves the console on 127.0.0.1 until closed. */
export async function startConsole(o: ConsoleOptions): Promise<RunningConsole> {
  let port = o.port
  const access = new ConsoleAccess(() => port)
  const streams = new Set<ServerResponse>()

  const api = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const { view, actions } = o
    const parts = path.split('/').slice(2).map(decodeURIComponent)
    const route = `${req.method ?? ''} ${parts[0] ?? ''}`
    switch (route) {
      case 'GET snapshot':
        return send(res, 200, { ...view.snapshot, history: view.history, events: view.events.slice(-EVENTS_IN_SNAPSHOT) })
      case 'GET events': {
        if (streams.size >= MAX_EVENT_STREAMS) throw new HttpError(503, 'too many event streams are open')
        res.writeHead(200, { ...HEADERS, 'content-type': 'text/event-stream', connection: 'keep-alive' })
        res.write(': events of the project\n\n')
        streams.add(res)
        const stop = view.subscribe((e) => res.write(`event: project\ndata: ${JSON.stringify(e)}\n\n`))
        const keep = setInterval(() => res.write(': keep-alive\n\n'), EVENT_STREAM_KEEPALIVE_MS)
        res.on('close', () => { stop(); clearInterval(keep); streams.delete(res) })
        return
      }
      case 'POST tickets': {
        const t = TicketRequest.parse(await readBody(req))
        const created = await actions.createTicket({ attributes: { ...t.attributes, ...(t.relay !== undefined ? { relay: t.relay } : {}) }, usageCount: t.usageCount, expiresIn: t.expiresInSeconds })
        o.log.info({ attributes: created.attributes, uses: created.usageCount }, 'ticket created from the console')
        await view.refresh(AbortSignal.timeout(10_000))
        // One time format on the page: ISO 8601, as leases and events carry it.
        return send(res, 201, { ...created, expiresAt: new Date(created.expiresAt * 1000).toISOString() })
      }
      case 'DELETE tickets':
        await actions.revokeTicket(parts[1] ?? '')
        await view.refresh(AbortSignal.timeout(10_000))
        return send(res, 200, { revoked: parts[1] })
      case 'DELETE members':
        await actions.deleteMember(parts[1] ?? '')
        o.log.info({ member: parts[1] }, 'member deleted from the console')
        await view.refresh(AbortSignal.timeout(10_000))
        return send(res, 200, { deleted: parts[1] })
      case 'DELETE leases': {
        const revoked = await actions.revokeLeasesOf(parts[1] ?? '', parts[2] ?? '')
        o.log.info({ relay: parts[1], holder: parts[2], revoked }, 'leases revoked from the console')
        return send(res, 200, { revoked })
      }
      default:
        throw new HttpError(404, `no ${req.method ?? ''} ${path}`)
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refused = access.refusal(req)
    if (refused !== undefined) throw new HttpError(403, refused)
    const url = new URL(req.url ?? '/', 'http://console')
    const token = url.searchParams.get('token')
    if (url.pathname === '/' && token !== null) {
      const cookie = access.exchange(token)
      if (cookie === undefined) throw new HttpError(401, 'this console link was used already or is not this console\'s: start `portico console` again for a new one')
      res.writeHead(303, { ...HEADERS, 'set-cookie': cookie, location: '/' })
      res.end()
      return
    }
    if (!access.admitted(req)) throw new HttpError(401, 'open the link `portico console` printed')
    if (url.pathname.startsWith('/api/')) return api(req, res, url.pathname)
    const asset = ASSETS[url.pathname]
    if (asset === undefined || req.method !== 'GET') throw new HttpError(404, `no ${url.pathname}`)
    const body = await readFile(join(o.assets, asset))
    res.writeHead(200, { ...HEADERS, 'content-type': TYPES[asset.split('.').pop() ?? ''] ?? 'application/octet-stream' })
    res.end(body)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : err instanceof z.ZodError ? 400 : HTTP_STATUS[kindOf(err)]
      if (status >= 500) o.log.warn({ err: (err as Error).message }, 'console request failed')
      if (res.headersSent) res.end()
      else send(res, status, { error: err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (err as Error).message })
    })
  })
  server.listen(o.port, CONSOLE_HOST)
  await once(server, 'listening')
  const address = server.address()
  port = typeof address === 'object' && address !== null ? address.port : o.port
  return {
    server, port, url: `http://${CONSOLE_HOST}:${port}/?token=${access.startToken}`,
    async close() {
      for (const s of streams) s.end()
      server.closeAllConnections()
      server.close()
      if (server.listening) await once(server, 'close')
    }
  }
}
