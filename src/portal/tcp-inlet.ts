import { createServer, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { randomAddress } from '../channel/context.js'
import { local, type Route } from '../routing/address.js'
import type { LocalMessage } from '../routing/message.js'
import type { Router } from '../routing/router.js'
import { duplexPair } from '../transport/duplex-pair.js'
import { formatHostPort, parseHostPort } from '../transport/host-port.js'
import { PortalConnection } from './portal-connection.js'
import { PortalUnavailableError } from './portal-errors.js'
import { decodePortalMessage, encodePortalMessage, PORTAL_WINDOW_BYTES } from './portal-message.js'

/** How long one attempt waits for the outlet's answer before the route is presumed dead and rebuilt. */
export const PORTAL_CONNECT_TIMEOUT_MS = 4000
/** Attempts per client connection; with the timeout above, a client waits at most about 12 s. */
export const PORTAL_CONNECT_ATTEMPTS = 3
export const MAX_INLET_CONNECTIONS = 10_000

/** An open route to the outlet: `route` goes through `channel`, which the inlet watches. */
export interface OutletRoute {
  route: Route
  channel: string
}

export interface TcpInletOptions {
  router: Router
  log: Logger
  /** HOST:PORT to listen on (loopback unless the operator says otherwise), once started; or a label for an inlet used in-process only. */
  from: string
  /** Opens a new route to the outlet (secure channels and all). */
  connect: (signal: AbortSignal) => Promise<OutletRoute>
  isOpen: (channel: string) => boolean
  /** Closes a route that stopped answering, so the next attempt builds a new one. */
  discard: (route: OutletRoute) => void
  /**
   * Runs `fn` when `channel` closes: its portal connections close with it at once, so a client
   * waiting for an answer that can no longer come learns it now, not at its own time-out.
   */
  onChannelClose?: (channel: string, fn: () => void) => () => void
  /** Why the outlet cannot be reached now (its last attempt failed): a client is then closed at once, not after its attempts. */
  down?: () => string | undefined
}

export class TcpInlet {
  private server: Server | undefined
  private current: Promise<OutletRoute> | undefined
  private readonly connections = new Set<PortalConnection>()
  private readonly lifetime = new AbortController()
  accepted = 0
  failed = 0
  lastError: string | undefined

  constructor(private readonly o: TcpInletOptions) {}

  async start(): Promise<string> {
    const { host, port } = parseHostPort(this.o.from)
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.onSocket(s))
    server.listen({ host, port })
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => { throw e as Error })])
    this.server = server
    const a = server.address()
    const bound = a !== null && typeof a === 'object' ? formatHostPort({ host: a.address, port: a.port }) : this.o.from
    this.o.log.info({ from: bound }, 'tcp inlet listening')
    return bound
  }

  get address(): string | undefined {
    const a = this.server?.address()
    return a !== null && typeof a === 'object' ? formatHostPort({ host: a.address, port: a.port }) : undefined
  }

  summary(): Record<string, unknown> {
    return { from: this.address ?? this.o.from, connections: this.connections.size, accepted: this.accepted, failed: this.failed, lastError: this.lastError ?? null }
  }

  async stop(): Promise<void> {
    this.lifetime.abort()
    for (const c of this.connections) c.close('inlet stopping')
    const server = this.server
    if (server?.listening === true) {
      server.close()
      await once(server, 'close')
    }
  }

  private route(): Promise<OutletRoute> {
    const pending = this.current
    if (pending !== undefined) {
      return pending.then((r) => this.o.isOpen(r.channel) ? r : this.rebuild(pending), () => this.rebuild(pending))
    }
    return this.rebuild(undefined)
  }

  private rebuild(stale: Promise<OutletRoute> | undefined): Promise<OutletRoute> {
    // Concurrent clients that found the same stale route share one rebuild.
    if (this.current !== stale && this.current !== undefined) return this.current
    const next = this.o.connect(AbortSignal.any([this.lifetime.signal, AbortSignal.timeout(PORTAL_CONNECT_TIMEOUT_MS * 2)]))
    this.current = next
    next.then((r) => this.o.log.info({ channel: r.channel }, 'route to the outlet established'), () => undefined)
    return next
  }

  /**
   * A client connection made in this process, with no TCP listener in between: the InfluxDB inlet
   * sends its requests this way. Returns our client's end of an in-memory stream.
   */
  openStream(): Duplex {
    const [client, portalEnd] = duplexPair()
    if (this.connections.size >= MAX_INLET_CONNECTIONS) {
      this.o.log.warn({ limit: MAX_INLET_CONNECTIONS }, 'inlet at its connection limit: refusing a client')
      portalEnd.destroy()
      return client
    }
    void this.connectClient(portalEnd, (reason) => client.destroy(new PortalUnavailableError(reason)))
    return client
  }

  private onSocket(socket: Socket): void {
    if (this.connections.size >= MAX_INLET_CONNECTIONS) {
      this.o.log.warn({ limit: MAX_INLET_CONNECTIONS }, 'inlet at its connection limit: refusing a client')
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    socket.on('error', () => undefined)
    void this.connectClient(socket)
  }

  /** Joins a client to the outlet, or closes it (telling `refused` why, for an in-process client). */
  private async connectClient(socket: Duplex, refused?: (reason: string) => void): Promise<void> {
    // While the outlet is known to be down, the client is refused at once rather than after its attempts.
    const down = this.o.down?.()
    let lastError = down ?? 'no attempt made'
    for (let attempt = 1; down === undefined && attempt <= PORTAL_CONNECT_ATTEMPTS && !socket.destroyed && !this.lifetime.signal.aborted; attempt++) {
      let route: OutletRoute
      try {
        route = await this.route()
      } catch (err) {
        lastError = (err as Error).message
        this.o.log.warn({ attempt, err: (err as Error).message }, 'cannot reach the outlet; retrying')
        this.current = undefined
        await new Promise((r) => setTimeout(r, 250 * attempt))
        continue
      }
      const answer = await this.ask(route, socket)
      if (answer === 'timeout') {
        lastError = `the outlet did not answer a new connection within ${PORTAL_CONNECT_TIMEOUT_MS} ms`
        this.o.log.warn({ attempt, channel: route.channel }, 'the outlet did not answer in time: rebuilding the route')
        this.o.discard(route)
        continue
      }
      if (answer.kind === 'close') {
        lastError = answer.reason
        break
      }
      this.accepted++
      return
    }
    this.failed++
    this.lastError = lastError
    this.o.log.warn({ reason: lastError }, 'client connection refused: the portal could not be opened')
    refused?.(lastError)
    socket.destroy()
  }

  /** Sends `connect` and waits for the first answer; on `connected`, the connection starts in the same tick. */
  private ask(route: OutletRoute, socket: Duplex): Promise<{ kind: 'connected' } | { kind: 'close'; reason: string } | 'timeout'> {
    const { router } = this.o
    const address = randomAddress('inlet-conn')
    return new Promise((resolve) => {
      let stopWatching = (): void => undefined
      const giveUp = (): void => {
        stopWatching()
        clearTimeout(timer)
        router.unregister(address)
        resolve('timeout')
      }
      const timer = setTimeout(giveUp, PORTAL_CONNECT_TIMEOUT_MS)
      // A channel that closes meanwhile (its far end gone) will bring no answer: rebuild now.
      stopWatching = this.o.onChannelClose?.(route.channel, giveUp) ?? stopWatching
      const handleMessage = (msg: LocalMessage): void => {
        stopWatching()
        clearTimeout(timer)
        router.unregister(address)
        let m
        try {
          m = decodePortalMessage(msg.payload)
        } catch (err) {
          resolve({ kind: 'close', reason: `malformed answer from the outlet: ${(err as Error).message}` })
          return
        }
        if (m.kind !== 'connected') {
          resolve({ kind: 'close', reason: m.kind === 'close' ? m.reason : `unexpected ${m.kind} from the outlet` })
          return
        }
        if (socket.destroyed) {
          router.send({ onward: msg.return, return: [local(address)], payload: encodePortalMessage({ kind: 'close', reason: 'client went away' }) })
          resolve({ kind: 'close', reason: 'client went away' })
          return
        }
        let forget = (): void => undefined
        const conn = new PortalConnection({
          router, log: this.o.log, socket, address, peerRoute: msg.return, channel: route.channel, initialCredit: m.credit,
          onClose: () => {
            this.connections.delete(conn)
            forget()
          }
        })
        this.connections.add(conn)
        forget = this.o.onChannelClose?.(route.channel, () => conn.close('the secure channel to the outlet closed', false)) ?? forget
        conn.start()
        resolve({ kind: 'connected' })
      }
      router.register(address, { handleMessage }, { incoming: (msg) => msg.secureChannel?.channel === route.channel })
      const sent = router.send({ onward: route.route, return: [local(address)], payload: encodePortalMessage({ kind: 'connect', credit: PORTAL_WINDOW_BYTES }) })
      if (!sent) giveUp()
    })
  }
}
