import type { Logger } from 'pino'
import { z } from 'zod'
import { decodeCbor, encodeCbor } from '../encoding/cbor.js'
import { local, type Route } from '../routing/address.js'
import type { LocalMessage } from '../routing/message.js'
import type { AccessControl, Router } from '../routing/router.js'
import { request } from '../routing/request.js'
import { describeIssues } from '../encoding/validation.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'

/** Largest request or answer an RPC service accepts, checked before decoding. */
export const MAX_RPC_BYTES = 256 * 1024
export const DEFAULT_RPC_TIMEOUT_MS = 10_000

/** An error meant for the caller: its message is sent back as is (so it must hold no secret). */
export class RpcError extends PorticoError {
  override name = 'RpcError'
  override readonly kind: ErrorKind
  constructor(message: string, override readonly code = 'refused') {
    super(message)
    this.kind = rpcKind(code)
  }
}

/** What a remote service answered with instead of a result: its code, and the kind that code means. */
export class RemoteError extends PorticoError {
  override name = 'RemoteError'
  override readonly kind: ErrorKind
  constructor(override readonly code: string, message: string) {
    super(message)
    this.kind = rpcKind(code)
  }
}

/**
 * What each answered code means to the caller. The code is the error's own stable `code`, so a
 * refusal (`forbidden`, a lease template the caller's attributes cannot fill) is told from a
 * passing shortage (a lease cap, a database that is down) and from a thing that does not exist.
 * Any code not listed is a refusal.
 */
const RPC_KINDS: Readonly<Record<string, ErrorKind>> = {
  'bad-request': 'bad-input', 'unknown-op': 'bad-input', 'too-large': 'bad-input', decode: 'bad-input', 'policy-syntax': 'bad-input',
  'not-found': 'not-found', 'lease-not-found': 'not-found', 'database-not-found': 'not-found',
  unavailable: 'unavailable', 'lease-limit': 'unavailable', 'outlet-not-ready': 'unavailable', backend: 'unavailable', 'database-unavailable': 'unavailable',
  internal: 'internal', 'bad-answer': 'internal'
}

function rpcKind(code: string): ErrorKind {
  return Object.hasOwn(RPC_KINDS, code) ? RPC_KINDS[code] ?? 'refused' : 'refused'
}

export type RpcHandler = (args: unknown, msg: LocalMessage) => Promise<unknown>

/** Error codes whose messages are written for callers (besides RpcError's and zod's); anything else is answered "internal error". */
const CALLER_FACING_CODES = new Set(['ticket-rejected', 'policy-syntax', 'decode', 'lease', 'lease-limit', 'lease-not-found', 'outlet-not-ready', 'backend', 'database-not-found', 'database-unavailable'])

/**
 * A request/answer service: `[op, args]` in, `[0, result]` or `[1, code, message]` out, CBOR.
 * Handlers see who asked through `msg.secureChannel`.
 */
export function serveRpc(router: Router, address: string, handlers: Record<string, RpcHandler>, log: Logger, incoming?: AccessControl): void {
  const reply = (msg: LocalMessage, body: unknown): void => {
    router.send({ onward: msg.return, return: [local(address)], payload: encodeCbor(body) })
  }
  router.register(address, {
    async handleMessage(msg) {
      let op = '?'
      try {
        if (msg.payload.byteLength > MAX_RPC_BYTES) throw new RpcError(`request larger than ${MAX_RPC_BYTES} bytes`, 'too-large')
        const decoded = decodeCbor(msg.payload)
        if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[0] !== 'string') throw new RpcError('a request is [op, args]', 'bad-request')
        op = decoded[0]
        const handler = Object.hasOwn(handlers, op) ? handlers[op] : undefined
        if (handler === undefined) throw new RpcError(`unknown operation '${op.slice(0, 64)}'`, 'unknown-op')
        reply(msg, [0, await handler(decoded[1], msg) ?? null])
      } catch (err) {
        const e = err as Error
        const facing = err instanceof RpcError || err instanceof z.ZodError || (err instanceof PorticoError && CALLER_FACING_CODES.has(err.code))
        const message = e instanceof z.ZodError ? `invalid arguments: ${describeIssues(e)}` : e.message
        log.warn({ op, caller: msg.secureChannel?.identifier, err: facing ? message : e }, 'request refused')
        const code = err instanceof z.ZodError ? 'bad-request' : err instanceof PorticoError && facing ? err.code : 'internal'
        reply(msg, [1, code, facing ? message : 'internal error'])
      }
    }
  }, incoming === undefined ? {} : { incoming })
}

/** Calls `op` at `route` (usually through a secure channel) and returns its result. */
export async function callRpc(router: Router, route: Route, op: string, args: unknown, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<unknown> {
  const answer = await request(router, route, encodeCbor([op, args]), {
    timeoutMs: options.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS, ...(options.signal !== undefined ? { signal: options.signal } : {})
  })
  if (answer.payload.byteLength > MAX_RPC_BYTES) throw new RemoteError('too-large', 'answer too large')
  const decoded = decodeCbor(answer.payload)
  if (Array.isArray(decoded) && decoded[0] === 0 && decoded.length === 2) return decoded[1]
  if (Array.isArray(decoded) && decoded[0] === 1 && decoded.length === 3) throw new RemoteError(String(decoded[1]), String(decoded[2]))
  throw new RemoteError('bad-answer', 'malformed answer')
}

export const bytesSchema = z.instanceof(Uint8Array)
export const attributesSchema = z.record(z.string().min(1).max(128).regex(/^[A-Za-z0-9_.\-:]+$/), z.string().max(1024))
