import type { Logger } from 'pino'
import { local } from '../routing/address.js'
import type { Route } from '../routing/address.js'
import { callRpc } from '../services/rpc.js'
import type { Router } from '../routing/router.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { Backoff } from '../util/backoff.js'
import { RELAY_ADDRESS } from './relay-service.js'

export const RELAY_RETRY_MIN_MS = 250
export const RELAY_RETRY_MAX_MS = 2000
/**
 * How often a registered relay is confirmed at the project node. A registration can be lost while
 * its channel stays open (the project node restarted its relay service, or refused the name to
 * us in favour of a stale holder): within this bound the node learns it and registers again.
 */
export const RELAY_CONFIRM_MS = 5000

export interface RelayRegistrationOptions {
  router: Router
  log: Logger
  name: string
  /** Opens a secure channel to the project node; `route[0]` is the channel. */
  connect: (signal: AbortSignal) => Promise<Route>
  /** Resolves when the channel at `address` closes. */
  closed: (address: string) => Promise<string>
  /** Asks to share the name with other outlets in front of the same service. */
  shared?: boolean
  /** The replica of the project this registration is kept at, when the project has several. */
  replica?: string
  /** Settles once the node holds its first credential: without it the relay service refuses the name, so the first attempt waits for it. */
  credential?: Promise<unknown>
}

/** Keeps `NAME` registered at the project's relay service: registers, waits for the channel to drop, registers again. */
export class RelayRegistration {
  registered = false
  registrations = 0
  lastError: string | undefined
  // Short: a relay that is back must be found again within seconds, not after a long backoff.
  private readonly backoff = new Backoff(RELAY_RETRY_MIN_MS, RELAY_RETRY_MAX_MS)

  constructor(private readonly o: RelayRegistrationOptions) {}

  private readonly life = new AbortController()
  private lastRoute: Route | undefined

  start(signal: AbortSignal): void {
    void this.loop(AbortSignal.any([signal, this.life.signal]))
  }

  /** Stops keeping the name and gives it up at the project node, so the relay goes at once (not when the channel closes). */
  async stop(): Promise<void> {
    this.life.abort()
    const route = this.lastRoute
    this.registered = false
    if (route !== undefined) await callRpc(this.o.router, [...route, local(RELAY_ADDRESS)], 'unregister', { name: this.o.name }, { timeoutMs: 3000 }).catch(() => undefined)
  }

  private get request(): Record<string, unknown> {
    return { name: this.o.name, ...(this.o.shared === true ? { shared: true } : {}) }
  }

  summary(): Record<string, unknown> {
    return { name: this.o.name, ...(this.o.shared === true ? { shared: true } : {}), ...(this.o.replica !== undefined ? { replica: this.o.replica } : {}), registered: this.registered, registrations: this.registrations, lastError: this.lastError ?? null }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    await this.o.credential?.catch(() => undefined)
    while (!signal.aborted) {
      try {
        const route = await this.o.connect(signal)
        await callRpc(this.o.router, [...route, local(RELAY_ADDRESS)], 'register', this.request, { signal })
        this.lastRoute = route
        this.registered = true
        this.registrations++
        this.lastError = undefined
        this.backoff.reset()
        this.o.log.info('relay registered at the project node')
        const confirming = new AbortController()
        const both = AbortSignal.any([signal, confirming.signal])
        const reason = await Promise.race([
          this.o.closed(route[0]?.value ?? ''), this.confirm(route, both),
          new Promise<string>((r) => signal.addEventListener('abort', () => r('stopping'), { once: true }))
        ])
        confirming.abort()
        this.registered = false
        if (signal.aborted) return
        this.o.log.warn({ reason }, 'the relay registration was lost; registering again')
      } catch (err) {
        if (signal.aborted) return
        this.registered = false
        this.lastError = (err as Error).message
        this.o.log.warn({ err: this.lastError }, 'could not register the relay; retrying')
        if (!await this.backoff.wait(signal)) return
      }
    }
  }

  /** Registers again every RELAY_CONFIRM_MS (a no-op while it holds); resolves with the reason once that fails. */
  private async confirm(route: Route, signal: AbortSignal): Promise<string> {
    for (;;) {
      try {
        await sleep(RELAY_CONFIRM_MS, undefined, { signal })
      } catch {
        return new Promise<string>(() => undefined)
      }
      try {
        await callRpc(this.o.router, [...route, local(RELAY_ADDRESS)], 'register', this.request, { signal })
      } catch (err) {
        if (signal.aborted) return new Promise<string>(() => undefined)
        return `the registration could not be confirmed: ${(err as Error).message}`
      }
    }
  }
}
