import { request } from 'node:http'
import { connect } from 'node:net'
import { ERROR_KINDS, PorticoError, type ErrorKind } from '../util/errors.js'

/** How long a liveness probe of a node's control socket waits. */
export const PROBE_TIMEOUT_MS = 1000

/**
 * Whether a node process answers on its control socket. Only a live process holds the socket
 * open, so this, not a PID (which a dying or reused process can hold), says whether a node runs.
 */
export function nodeAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path: socketPath })
    const done = (alive: boolean): void => {
      s.destroy()
      resolve(alive)
    }
    s.setTimeout(PROBE_TIMEOUT_MS, () => done(false))
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

export class ControlClientError extends PorticoError {
  override readonly code: string = 'control-client'
  override readonly kind: ErrorKind = 'unavailable'
  override name = 'ControlClientError'
}

/** What a node answered on its control socket instead of a result: its code and kind kept, so the CLI exits by them. */
export class NodeAnswerError extends PorticoError {
  override name = 'NodeAnswerError'
  constructor(message: string, override readonly code = 'internal', override readonly kind: ErrorKind = 'internal') {
    super(message)
  }
}

function answerError(status: number, body: unknown): PorticoError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { error?: unknown; code?: unknown; kind?: unknown }
  const message = typeof b.error === 'string' ? b.error : `status ${status}`
  const kind = ERROR_KINDS.find((k) => k === b.kind) ?? (status === 404 ? 'not-found' : status >= 500 ? 'internal' : 'bad-input')
  return new NodeAnswerError(message, typeof b.code === 'string' ? b.code : 'internal', kind)
}

/** Calls a running node's control API over its Unix socket. */
export async function callNode<T>(socketPath: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise<T>((resolve, reject) => {
    const req = request({
      socketPath, method, path, ...(signal !== undefined ? { signal } : {}),
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        let parsed: unknown
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          reject(new ControlClientError(`node answered with something that is not JSON (status ${res.statusCode ?? 0})`))
          return
        }
        if ((res.statusCode ?? 500) >= 400) reject(answerError(res.statusCode ?? 500, parsed))
        else resolve(parsed as T)
      })
      res.on('error', reject)
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
        ? new ControlClientError('the node is not running (no control socket)')
        : err)
    })
    req.end(payload)
  })
}
