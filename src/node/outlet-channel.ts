import { setTimeout as sleep } from 'node:timers/promises'
import { Backoff } from '../util/backoff.js'
import type { Logger } from 'pino'
import type { TrustPolicy } from '../channel/trust-policy.js'
import { HandshakeTimeoutError, UnreachableError } from '../channel/errors.js'
import type { OutletRoute } from '../portal/tcp-inlet.js'
import { formatTarget, PortalError, type OutletTarget } from './inlet-route.js'
import type { PorticoNode, RouteStep } from './portico-node.js'
import { kindOf, type ErrorKind } from '../util/errors.js'

/** A relay whose node is away drops handshakes silently: give up quickly and try again. */
export const PORTAL_HANDSHAKE_TIMEOUT_MS = 3000
/** After a failed attempt, an inlet tries its outlet again (jittered backoff), at most this long after, so it is back within that of its outlet. */
export const OUTLET_RETRY_MIN_MS = 500
export const OUTLET_RETRY_MAX_MS = 4000
/**
 * A route whose channel closed is opened again after a random wait up to this long (a client's
 * request opens it at once): when a relay or an outlet restarts, thousands of inlets lose their
 * channels in the same instant, and reopening all at once floods it with handshakes it must drop.
 */
export const OUTLET_REOPEN_SPREAD_MS = 3000

/** The outlet of an inlet cannot be reached; the message names the hop that failed (the relay, the outlet). */
export class OutletUnreachableError extends PortalError {
  override readonly code: string = 'outlet-unreachable'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'OutletUnreachableError'
}

/** A hop on the way (the project node, the relay, the outlet) refused this node: no retry will change that until someone acts. */
export class OutletRefusedError extends OutletUnreachableError {
  override readonly code: string = 'outlet-refused'
  override readonly kind: ErrorKind = 'refused'
  override name = 'OutletRefusedError'
}

/**
 * One secure route to an outlet node, shared by everything an inlet sends there: kept open (and
 * rebuilt within OUTLET_REOPEN_SPREAD_MS of closing, or at once for a client, so a channel lost to
 * a crash or a silent path is replaced without waiting for a client), reused while its channel is
 * open, and when replaced, closed with every channel built for it. Why it is not open is kept for readiness and for the clients' answers.
 */
export class OutletChannel {
  private current: Promise<OutletRoute> | undefined
  /** Why the last attempt failed; undefined once one succeeds. */
  failure: OutletUnreachableError | undefined
  /** The channel of the last route opened. */
  private opened: string | undefined
  private failedAt = 0
  private closedFor: { channel: string; signal: AbortSignal } | undefined
  /** Ends keepOpen's wait before its next attempt. */
  private wake: (() => void) | undefined

  /** Set once the node's first credential is in hand (or never will be). */
  private credentialSettled: boolean

  /** `credential` settles once the node holds its first project credential: a relay admits no one before. */
  constructor(private readonly node: PorticoNode, private readonly target: OutletTarget, private readonly trustPolicy: TrustPolicy, private readonly log: Logger,
    private readonly credential?: Promise<unknown>) {
    this.credentialSettled = credential === undefined
    credential?.finally(() => { this.credentialSettled = true }).catch(() => undefined)
  }

  async get(signal?: AbortSignal): Promise<OutletRoute> {
    // A request that comes while the node starts waits (a little) for its credential rather than
    // sending a handshake that the relay would drop.
    if (!this.credentialSettled) await Promise.race([this.credential?.catch(() => undefined), sleep(PORTAL_HANDSHAKE_TIMEOUT_MS, undefined, { ref: false })])
    const have = await this.current?.catch(() => undefined)
    if (have !== undefined && this.node.channels.has(have.channel)) return have
    if (have !== undefined) this.node.closeChain(have.channel, 'route to the outlet replaced')
    let step: RouteStep | undefined
    const next = this.node.resolve(this.target.channel, {
      trustPolicy: this.trustPolicy, timeoutMs: PORTAL_HANDSHAKE_TIMEOUT_MS, onStep: (s) => { step = s }, ...(signal !== undefined ? { signal } : {})
    }).then((r) => {
      const channel = r[0]?.value
      if (channel === undefined || !this.node.channels.has(channel)) throw new PortalError(`route ${formatTarget(this.target)} does not start with a secure channel`)
      this.failure = undefined
      this.opened = channel
      return { route: r, channel }
    }, (err: unknown) => {
      const e = outletFailure(this.target, step, err)
      this.failure = e
      this.failedAt = Date.now()
      throw e
    })
    this.current = next
    return next
  }

  /**
   * Why the outlet cannot be reached, when the last attempt failed: a client is answered at once
   * meanwhile, and its coming brings the next attempt forward (at most every OUTLET_RETRY_MIN_MS),
   * so clients find the outlet back as soon as it is, not at the end of a backoff.
   */
  down(): OutletUnreachableError | undefined {
    if (this.failure !== undefined && Date.now() - this.failedAt >= OUTLET_RETRY_MIN_MS) this.wake?.()
    return this.failure
  }

  /** Why the route is not open now, or undefined when it is. */
  notOpen(): string | undefined {
    if (this.failure !== undefined) return this.failure.message
    if (this.opened !== undefined && this.node.channels.has(this.opened)) return undefined
    return this.opened === undefined ? 'the secure channel to the outlet is not open yet' : 'the secure channel to the outlet closed; opening a new one'
  }

  /** Opens the route (once the node holds its credential) and opens it again whenever it closes, until `signal` aborts. */
  async keepOpen(signal: AbortSignal): Promise<void> {
    await this.credential?.catch(() => undefined)
    const backoff = new Backoff(OUTLET_RETRY_MIN_MS, OUTLET_RETRY_MAX_MS)
    while (!signal.aborted) {
      try {
        const r = await this.get(signal)
        backoff.reset()
        await new Promise<void>((resolve) => {
          this.onChannelClose(r.channel, resolve)
          signal.addEventListener('abort', () => resolve(), { once: true })
        })
        await this.pause(Math.random() * OUTLET_REOPEN_SPREAD_MS, signal)
      } catch (err) {
        if (signal.aborted) return
        this.log.debug({ err: (err as Error).message }, 'the outlet cannot be reached; trying again')
        await this.pause(backoff.nextDelayMs(), signal)
      }
    }
  }

  /**
   * keepOpen's wait before its next attempt, which a client's coming ends (see `down`): also the
   * spread before reopening, since a client whose own attempt failed meanwhile is answered from
   * that failure until keepOpen tries again.
   */
  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    const woken = new AbortController()
    this.wake = () => woken.abort()
    await sleep(ms, undefined, { signal: AbortSignal.any([signal, woken.signal]) }).catch(() => undefined)
    this.wake = undefined
  }

  isOpen = (channel: string): boolean => this.node.channels.has(channel)

  /** Closes the route's channel (its inlet was deleted); keepOpen must have been stopped first. */
  close(reason: string): void {
    if (this.opened !== undefined && this.node.channels.has(this.opened)) this.node.closeChain(this.opened, reason)
  }

  /** Aborts, with the reason, once `channel` closes: one signal per channel, shared by all its requests. */
  closedSignal(channel: string): AbortSignal {
    if (this.closedFor?.channel === channel) return this.closedFor.signal
    const c = new AbortController()
    const ch = this.node.channels.get(channel)
    if (ch === undefined) c.abort(new PortalError('the secure channel to the outlet closed'))
    else ch.onClose((reason) => c.abort(new PortalError(`the secure channel to the outlet closed: ${reason}`)))
    this.closedFor = { channel, signal: c.signal }
    return c.signal
  }

  discard = (r: OutletRoute): void => this.node.closeChain(r.channel, 'the outlet stopped answering')

  onChannelClose = (channel: string, fn: () => void): (() => void) => {
    const ch = this.node.channels.get(channel)
    if (ch !== undefined) return ch.onClose(fn)
    fn()
    return () => undefined
  }

}

/** A failed route to the outlet as the error callers act on: refused by a hop, or unreachable; the message names the hop. */
export function outletFailure(target: OutletTarget, step: RouteStep | undefined, err: unknown): OutletUnreachableError {
  const message = describeFailure(target, step, err)
  return kindOf(err) === 'refused' ? new OutletRefusedError(message, { cause: err }) : new OutletUnreachableError(message, { cause: err })
}

/** Puts a failure down to the hop it happened at, in words an operator can act on. */
export function describeFailure(target: OutletTarget, step: RouteStep | undefined, err: unknown): string {
  const cause = err instanceof Error ? err.message : String(err)
  const relay = target.relay
  if (step === undefined) return `the route to the outlet is not valid: ${cause}`
  if (step.kind === 'project') {
    return kindOf(err) === 'refused' ? `the project node refused this node: ${cause}` : `the relay cannot be reached (the project node did not answer): ${cause}`
  }
  if (relay !== undefined && step.afterProject) {
    if (err instanceof UnreachableError && cause.includes(`forward_to_${relay}`)) return `the outlet is not connected to relay '${relay}' (the relay has no registration for it)`
    if (err instanceof HandshakeTimeoutError) return `the outlet did not answer through relay '${relay}': ${cause}`
    return `the outlet cannot be reached through relay '${relay}': ${cause}`
  }
  return `the outlet cannot be reached: ${cause}`
}
