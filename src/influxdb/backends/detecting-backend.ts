import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { IssuedToken, IssueRequest, LeaseBackend, TaggedCredential } from './backend.js'
import { BackendError, call, DatabaseUnavailableError, type Endpoint } from './http.js'
import { Backoff } from '../../util/backoff.js'

export type ApiVersion = 'v1' | 'v2' | 'v3'

/**
 * `api: auto` reads `X-Influxdb-Version` from `/ping`: 1.x is v1, 2.x (and Cloud) is v2, 3.x is v3.
 * InfluxDB 3 Enterprise answers `/ping` only to an authenticated caller, so a 401 is asked again
 * with the configured token (Bearer: the scheme InfluxDB 3 takes on every endpoint).
 */
export async function detectApi(endpoint: Endpoint, signal?: AbortSignal, token?: string): Promise<ApiVersion> {
  let r = await call(endpoint, 'GET', '/ping', {}, undefined, signal)
  if (r.status === 401 && token !== undefined) r = await call(endpoint, 'GET', '/ping', { authorization: `Bearer ${token}` }, undefined, signal)
  // A proxy or load balancer in front of a database that is (re)starting.
  if (r.status >= 500) throw new DatabaseUnavailableError(`the database at ${endpoint.to} answered /ping with ${r.status}`, r.status)
  const raw = r.headers['x-influxdb-version']
  const version = ((Array.isArray(raw) ? raw[0] : raw) ?? '').toLowerCase().replace(/^v/, '')
  if (version.startsWith('1.')) return 'v1'
  if (version.startsWith('2.') || version.includes('cloud')) return 'v2'
  if (version.startsWith('3.')) return 'v3'
  const why = r.status === 401 ? ' (/ping wants a token: set all-access-token)' : ''
  throw new BackendError(`cannot tell the InfluxDB API version from /ping (X-Influxdb-Version: '${version.slice(0, 40)}')${why}; set api: v1, v2 or v3`)
}


/** `/ping` is asked again after this long, then with jittered backoff up to DETECT_RETRY_MAX_MS, while the database is away. */
export const DETECT_RETRY_FIRST_MS = 1000
export const DETECT_RETRY_MAX_MS = 30_000

export interface DetectOptions {
  endpoint: Endpoint
  /** Sent to `/ping` when it wants a token (InfluxDB 3 Enterprise). */
  token?: string
  /** The backend for a version; may throw when the configuration lacks what that version needs. */
  make: (api: ApiVersion) => LeaseBackend
  log: Logger
  signal: AbortSignal
}

/**
 * `api: auto`: the backend is chosen by the version the database reports on `/ping`. Asked once; if
 * the database does not answer (a host still booting, a database restarting), the outlet starts all
 * the same with a `DetectingBackend` that keeps asking with backoff. A database that answers
 * without a version we know, or a configuration that the detected version cannot use, fails at
 * once: waiting would not mend it.
 */
export async function detectBackend(o: DetectOptions): Promise<LeaseBackend> {
  try {
    return await ask(o)
  } catch (err) {
    if (!(err instanceof DatabaseUnavailableError)) throw err
    o.log.warn({ err: err.message, retryInMs: DETECT_RETRY_FIRST_MS }, 'the database is not reachable yet; the outlet starts and keeps asking /ping which API it speaks')
    return new DetectingBackend(o, err)
  }
}

/** The backend for the version the database reports on `/ping`. */
async function ask(o: DetectOptions): Promise<LeaseBackend> {
  return o.make(await detectApi(o.endpoint, o.signal, o.token))
}

/**
 * Until the database has answered, every call fails with the reason (the inlet answers its client
 * 503 with it, and asks again once its lease backoff is over). Then it is the detected backend.
 */
export class DetectingBackend implements LeaseBackend {
  private chosen: LeaseBackend | undefined
  private failure: Error
  private permanent = false
  /** Settles when the API is known (or can never be: a permanent failure). */
  readonly detected: Promise<LeaseBackend>

  constructor(private readonly o: DetectOptions, first: Error) {
    this.failure = first
    this.detected = this.keepAsking()
    // Its failures are reported through `waiting` and the log; this keeps the rejection handled.
    this.detected.catch(() => undefined)
  }

  get kind(): LeaseBackend['kind'] {
    return this.chosen?.kind ?? 'auto'
  }

  /** Why the API is not known yet; undefined once it is. */
  get waiting(): string | undefined {
    if (this.chosen !== undefined) return undefined
    return `${this.permanent ? 'cannot use the database' : 'waiting for the database'}: ${this.failure.message}`
  }

  async issue(request: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    return this.backend().issue(request, signal)
  }

  async revoke(backendId: string, signal?: AbortSignal): Promise<void> {
    return this.backend().revoke(backendId, signal)
  }

  async verify(signal?: AbortSignal): Promise<void> {
    const b = this.backend()
    await (b.verify !== undefined ? b.verify(signal) : b.listTagged(signal))
  }

  async listTagged(signal?: AbortSignal): Promise<TaggedCredential[]> {
    return this.backend().listTagged(signal)
  }

  private backend(): LeaseBackend {
    if (this.chosen === undefined) throw new BackendError(`the lease manager does not know the database's API yet (${this.waiting ?? ''})`)
    return this.chosen
  }

  private async keepAsking(): Promise<LeaseBackend> {
    const { log, signal } = this.o
    // Jittered, so that outlets whose database restarted do not all ask it again at the same moment.
    const backoff = new Backoff(DETECT_RETRY_FIRST_MS, DETECT_RETRY_MAX_MS)
    for (let wait = backoff.nextDelayMs(); ;) {
      await sleep(wait, undefined, { signal })
      try {
        this.chosen = await ask(this.o)
        log.info({ api: this.chosen.kind }, 'the database answered: lease manager ready')
        return this.chosen
      } catch (err) {
        if (signal.aborted) throw err
        this.failure = err as Error
        if (!(err instanceof DatabaseUnavailableError)) {
          this.permanent = true
          log.error({ err: this.failure.message }, 'the database answered, but the outlet cannot use it; fix the configuration and restart the node')
          throw err
        }
        wait = backoff.nextDelayMs()
        log.warn({ err: this.failure.message, retryInMs: wait }, 'the database is still not reachable')
      }
    }
  }
}
