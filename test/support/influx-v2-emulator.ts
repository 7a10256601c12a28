import type { IncomingMessage } from 'node:http'
import { randomBytes } from 'node:crypto'
import { OpenApiContract } from './openapi-contract.js'
import { startContractServer, type ContractServer } from './contract-server.js'
import type { TestCertificate } from './tls.js'

// An InfluxDB 2.x API emulator for the endpoints Portico and its clients use. No 2.x server can be
// installed here; instead every request this emulator receives and every response it sends is
// validated against InfluxData's official OpenAPI contract (test/fixtures/influxdb-openapi/oss.yml),
// and any mismatch is recorded in `violations`, which tests require to be empty.

const contract = new OpenApiContract(new URL('../fixtures/influxdb-openapi/oss.yml', import.meta.url), 'oss')

export interface Authorization {
  id: string
  token: string
  orgID: string
  description: string
  status: 'active' | 'inactive'
  permissions: { action: 'read' | 'write'; resource: { type: string; id?: string; name?: string; orgID?: string } }[]
  createdAt: string
  updatedAt: string
}

export interface V2Emulator extends ContractServer {
  orgId: string
  allAccessToken: string
  authorizations: Map<string, Authorization>
  /** Lines written, per bucket name. */
  points: Map<string, string[]>
}

/**
 * With `tls`, it serves HTTPS only with that certificate. `port` and `credentials` (default: any free
 * port, random ones) let a test configure an outlet before the database is up.
 */
export async function startV2Emulator(options: { tls?: TestCertificate; port?: number; credentials?: { orgId: string; allAccessToken: string } } = {}): Promise<V2Emulator> {
  const orgId = options.credentials?.orgId ?? randomBytes(8).toString('hex')
  const allAccessToken = options.credentials?.allAccessToken ?? randomBytes(32).toString('base64url')
  const authorizations = new Map<string, Authorization>()
  const points = new Map<string, string[]>()

  const token = (req: IncomingMessage): Authorization | 'all' | undefined => {
    const h = req.headers.authorization ?? ''
    const m = /^Token (.+)$/.exec(h)
    if (m === null) return undefined
    if (m[1] === allAccessToken) return 'all'
    return [...authorizations.values()].find((a) => a.token === m[1] && a.status === 'active')
  }

  const server = await startContractServer(contract, async (x) => {
    const { req, url, reply } = x
    const unauthorized = (template: string): void => reply(template, 401, { code: 'unauthorized', message: 'unauthorized access' })
    const who = token(req)
    const p = url.pathname
    if (p === '/ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      reply('/ping', 204, undefined, undefined, { 'x-influxdb-version': 'v2.7.11', 'x-influxdb-build': 'OSS' })
      return
    }
    if (p === '/api/v2/authorizations') {
      if (who !== 'all') return unauthorized('/authorizations')
      if (req.method === 'POST') {
        const body = JSON.parse(await x.text()) as Omit<Authorization, 'id' | 'token' | 'createdAt' | 'updatedAt' | 'status'>
        const now = new Date().toISOString()
        const a: Authorization = { id: randomBytes(8).toString('hex'), token: randomBytes(32).toString('base64url'), orgID: body.orgID, description: body.description,
          status: 'active', permissions: body.permissions, createdAt: now, updatedAt: now }
        authorizations.set(a.id, a)
        reply('/authorizations', 201, { ...a, links: { self: `/api/v2/authorizations/${a.id}`, user: '/api/v2/users/0000000000000001' } }, body)
        return
      }
      if (req.method === 'GET') {
        const org = url.searchParams.get('orgID')
        const list = [...authorizations.values()].filter((a) => org === null || a.orgID === org)
        reply('/authorizations', 200, { links: { self: '/api/v2/authorizations' }, authorizations: list.map((a) => ({ ...a, links: { self: `/api/v2/authorizations/${a.id}` } })) })
        return
      }
    }
    const del = /^\/api\/v2\/authorizations\/([^/]+)$/.exec(p)
    if (del !== null && req.method === 'DELETE') {
      if (who !== 'all') return unauthorized('/authorizations/{authID}')
      if (!authorizations.delete(del[1] ?? '')) return reply('/authorizations/{authID}', 404, { code: 'not found', message: 'authorization not found' })
      reply('/authorizations/{authID}', 204)
      return
    }
    if (p === '/api/v2/write' && req.method === 'POST') {
      const bucket = url.searchParams.get('bucket') ?? ''
      if (who === undefined) return unauthorized('/write')
      const allowed = who === 'all' || who.permissions.some((x) => x.action === 'write' && x.resource.type === 'buckets' && (x.resource.name === undefined || x.resource.name === bucket))
      if (!allowed) return unauthorized('/write')
      points.set(bucket, [...points.get(bucket) ?? [], ...(await x.text()).split('\n').filter((l) => l.trim() !== '')])
      reply('/write', 204)
      return
    }
    x.unserved()
  }, { ...(options.tls !== undefined ? { tls: options.tls } : {}), ...(options.port !== undefined ? { port: options.port } : {}) })
  return { ...server, orgId, allAccessToken, authorizations, points }
}
