import { request } from 'node:http'

export class ControlClientError extends Error {
  override name = 'ControlClientError'
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
        if ((res.statusCode ?? 500) >= 400) reject(new ControlClientError((parsed as { error?: string }).error ?? `status ${res.statusCode ?? 0}`))
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
