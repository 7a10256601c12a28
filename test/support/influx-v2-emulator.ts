import type { IncomingMessage } from 'node:http'
import { randomBytes } from 'node:crypto'
import { OpenApiContract } from './openapi-contract.js'
import { startContractServer, type ContractServer } from './contract-server.js'
import type { TestCertificate } from './tls.js'

// An InfluxDB 2.x API emulator for the endpoints Portico and its clients use. No 2.x server can be
// installed here; instead every request this emulator receives and every response it sends is
// validated against InfluxData's official OpenAPI contract (test/fixtures/influxdb-openapi/oss.yml),
// and any mismatch fails the running test (see contract-server.ts).
//
// Permissions are matched as InfluxDB's own `Permission.Matches` (influxdata/influxdb authz.go)
// does: by action, type, resource `id` and `orgID` only. A resource's `name` is not part of
// InfluxDB's authorization model: it is dropped when a request is decoded and only filled in on
// answers. A resource without an id is every resource of its type in its org; without an org id
// too, every one of every org, which an org's all-access token may not grant.

export interface Bucket {
  id: string
  name: string
  orgID: string
}

type Resource = { type: string; id?: string; orgID?: string; name?: string }
type Permission = { action: 'read' | 'write'; resource: Resource }

/** `Permission.Matches`: the granted permission `p` covers `action` on `resource`. */
export function permissionMatches(p: Permission, action: 'read' | 'write', resource: { type: string; id: string; orgID: string }): boolean {
  if (p.action !== action) return false
  if (p.resource.type !== resource.type) return false
  if (p.resource.orgID !== undefined && p.resource.orgID !== resource.orgID) return false
  return p.resource.id === undefined || p.resource.id === resource.id
}

const contract = new OpenApiContract(new URL('../fixtures/influxdb-openapi/oss.yml', import.meta.url), 'oss')

export interface Authorization {
  id: string
  token: string
  orgID: string
  description: string
  status: 'active' | 'inactive'
  permissions: Permission[]
  createdAt: string
  updatedAt: string
}

export interface V2Emulator extends ContractServer {
  orgId: string
  allAccessToken: string
  authorizations: Map<string, Authorization>
  /** Lines written, per bucket name. */
  points: Map<string, string[]>
  buckets: Map<string, Bucket>
  /** Makes a bucket in the emulator's org (as an operator would with `influx bucket create`); returns it. */
  createBucket: (name: string, orgID?: string) => Bucket
}

/**
 * With `tls`, it serves HTTPS only with that certificate. `port` and `credentials` (default: any free
 * port, random ones) let a test configure an outlet before the database is up.
 */
export async function startV2Emulator(options: { tls?: TestCertificate; port?: number; credentials?: { orgId: string; allAccessToken: string }; buckets?: string[] } = {}): Promise<V2Emulator> {
  const orgId = options.credentials?.orgId ?? randomBytes(8).toString('hex')
  const allAccessToken = options.credentials?.allAccessToken ?? randomBytes(32).toString('base64url')
  const authorizations = new Map<string, Authorization>()
  const points = new Map<string, string[]>()
  const buckets = new Map<string, Bucket>()
  const createBucket = (name: string, orgID = orgId): Bucket => {
    const existing = [...buckets.values()].find((b) => b.name === name && b.orgID === orgID)
    if (existing !== undefined) return existing
    const b = { id: randomBytes(8).toString('hex'), name, orgID }
    buckets.set(b.id, b)
    return b
  }
  for (const name of options.buckets ?? []) createBucket(name)
  /** What an answer shows of a permission: the name filled in for a resource that has an id. */
  const shown = (p: Permission): Permission => {
    const b = p.resource.id !== undefined ? buckets.get(p.resource.id) : undefined
    return b !== undefined && p.resource.type === 'buckets' ? { ...p, resource: { ...p.resource, name: b.name } } : p
  }
  const mayDo = (who: Authorization | 'all' | undefined, action: 'read' | 'write', resource: { type: string; id: string; orgID: string }): boolean =>
    who === 'all' ? resource.orgID === orgId : who !== undefined && who.permissions.some((p) => permissionMatches(p, action, resource))

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
        // Decoded as the server decodes it: a resource keeps its type, id and org id, never a name.
        const permissions = body.permissions.map(({ action, resource: { type, id, orgID } }): Permission => ({ action, resource: { type, ...(id !== undefined ? { id } : {}), ...(orgID !== undefined ? { orgID } : {}) } }))
        // An org's all-access token grants only within its org.
        if (permissions.some((p) => p.resource.orgID !== orgId)) {
          reply('/authorizations', 401, { code: 'unauthorized', message: 'permission not allowed: a permission without this organization is wider than the token that asks for it' }, body)
          return
        }
        const now = new Date().toISOString()
        const a: Authorization = { id: randomBytes(8).toString('hex'), token: randomBytes(32).toString('base64url'), orgID: body.orgID, description: body.description,
          status: 'active', permissions, createdAt: now, updatedAt: now }
        authorizations.set(a.id, a)
        reply('/authorizations', 201, { ...a, permissions: a.permissions.map(shown), links: { self: `/api/v2/authorizations/${a.id}`, user: '/api/v2/users/0000000000000001' } }, body)
        return
      }
      if (req.method === 'GET') {
        const org = url.searchParams.get('orgID')
        const list = [...authorizations.values()].filter((a) => org === null || a.orgID === org)
        reply('/authorizations', 200, { links: { self: '/api/v2/authorizations' }, authorizations: list.map((a) => ({ ...a, permissions: a.permissions.map(shown), links: { self: `/api/v2/authorizations/${a.id}` } })) })
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
    if (p === '/api/v2/buckets' && req.method === 'GET') {
      if (who === undefined) return unauthorized('/buckets')
      const org = url.searchParams.get('orgID') ?? orgId
      const name = url.searchParams.get('name')
      const found = [...buckets.values()].filter((b) => b.orgID === org && (name === null || b.name === name) && mayDo(who, 'read', { type: 'buckets', id: b.id, orgID: b.orgID }))
      const retentionRules = [{ type: 'expire', everySeconds: 0 }]
      reply('/buckets', 200, { links: { self: '/api/v2/buckets' }, buckets: found.map((b) => ({ ...b, type: 'user', retentionRules, links: { self: `/api/v2/buckets/${b.id}` } })) })
      return
    }
    if (p === '/api/v2/write' && req.method === 'POST') {
      const param = url.searchParams.get('bucket') ?? ''
      if (who === undefined) return unauthorized('/write')
      // The bucket parameter is a name in the org, or an id.
      const org = url.searchParams.get('orgID') ?? orgId
      const bucket = buckets.get(param) ?? [...buckets.values()].find((b) => b.name === param && b.orgID === org)
      if (bucket === undefined) return reply('/write', 404, { code: 'not found', message: `bucket "${param.slice(0, 64)}" not found` })
      if (!mayDo(who, 'write', { type: 'buckets', id: bucket.id, orgID: bucket.orgID })) return unauthorized('/write')
      points.set(bucket.name, [...points.get(bucket.name) ?? [], ...(await x.text()).split('\n').filter((l) => l.trim() !== '')])
      reply('/write', 204)
      return
    }
    x.unserved()
  }, { ...(options.tls !== undefined ? { tls: options.tls } : {}), ...(options.port !== undefined ? { port: options.port } : {}) })
  return { ...server, orgId, allAccessToken, authorizations, points, buckets, createBucket }
}
