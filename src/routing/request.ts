import { local, type Route } from './address.js'
import type { LocalMessage } from './message.js'
import type { Router } from './router.js'
import { randomBytes } from 'node:crypto'
import { PorticoError, type ErrorKind } from '../util/errors.js'

export class RequestTimeoutError extends PorticoError {
  override readonly code: string = 'request-timeout'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'RequestTimeoutError'
}

export class UndeliverableError extends PorticoError {
  override readonly code: string = 'undeliverable'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'UndeliverableError'
}

/** Sends one message and waits for the first answer to a one-off return address. */
export async function request(router: Router, onward: Route, payload: Uint8Array, options: { timeoutMs: number; signal?: AbortSignal }): Promise<LocalMessage> {
  const address = `reply-${randomBytes(8).toString('hex')}`
  let resolve!: (m: LocalMessage) => void
  const reply = new Promise<LocalMessage>((r) => { resolve = r })
  let refuse!: (e: Error) => void
  const refused = new Promise<never>((_r, rej) => { refuse = rej })
  refused.catch(() => undefined)
  router.register(address, {
    handleMessage: (m) => resolve(m),
    // The far node has no such service, or a hop on the way is gone: no answer will come.
    handleUnreachable: (missing) => refuse(new UndeliverableError(`no answer can come: ${missing.slice(0, 80)} is not there`))
  })
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal !== undefined ? [options.signal] : [])]
  const signal = AbortSignal.any(signals)
  try {
    if (!router.send({ onward, return: [local(address)], payload })) throw new UndeliverableError('the message could not be routed')
    return await new Promise<LocalMessage>((res, rej) => {
      const onAbort = (): void => rej(options.signal?.aborted === true
        ? (options.signal.reason as Error)
        : new RequestTimeoutError(`no answer within ${options.timeoutMs} ms`))
      if (signal.aborted) onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      Promise.race([reply, refused]).then(res, rej).finally(() => signal.removeEventListener('abort', onAbort))
    })
  } finally {
    router.unregister(address)
  }
}
