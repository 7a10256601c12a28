import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const SESSION_COOKIE = 'portico_console'
const SECRET_BYTES = 32

const secret = (): string => randomBytes(SECRET_BYTES).toString('base64url')

function same(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)]
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Who may use the console: the holder of the one-time token in the printed URL, which it trades
 * for an HttpOnly, SameSite=Strict cookie; requests must name the console's own host (no DNS
 * rebinding) and, when they change something, come from its own origin (no cross-site requests).
 */
export class ConsoleAccess {
  private token: string | undefined = secret()
  /** One token, so one session: the browser that opened the printed link. */
  private readonly sessions = new Set<string>()

  constructor(private readonly port: () => number) {}

  /** The token for the URL printed at start; after its exchange it opens nothing. */
  get startToken(): string {
    return this.token ?? ''
  }

  private hosts(): string[] {
    const p = this.port()
    return [`127.0.0.1:${p}`, `localhost:${p}`]
  }

  /** Why the request is refused before anything else, if it is. */
  refusal(req: IncomingMessage): string | undefined {
    const host = req.headers.host ?? ''
    if (!this.hosts().includes(host)) return `the console answers only to ${this.hosts().join(' or ')}, not '${host.slice(0, 100)}'`
    const site = req.headers['sec-fetch-site']
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'cross-site requests are refused'
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const origin = req.headers.origin
      if (origin === undefined || !this.hosts().some((h) => origin === `http://${h}`)) return 'a change must come from the console\'s own page'
    }
    return undefined
  }

  /** Trades the start token for a new session (once); the cookie to set, or undefined. */
  exchange(token: string): string | undefined {
    if (this.token === undefined || !same(token, this.token)) return undefined
    this.token = undefined
    const session = secret()
    this.sessions.add(session)
    return `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`
  }

  /** The request carries a live session cookie. */
  admitted(req: IncomingMessage): boolean {
    const cookies = (req.headers.cookie ?? '').split(';').map((c) => c.trim())
    const value = cookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`))?.slice(SESSION_COOKIE.length + 1)
    return value !== undefined && [...this.sessions].some((s) => same(s, value))
  }
}
