import type { IncomingMessage } from 'node:http'
import { randomBytes } from 'node:crypto'
import { OpenApiContract } from './openapi-contract.js'
import { startContractServer, type ContractServer } from './contract-server.js'

// An InfluxDB 3 Enterprise emulator for the endpoints Portico and its clients use. No InfluxDB 3
// can be installed here; every request it receives and every response it sends is checked against
// the operations of InfluxData's API reference restated in test/fixtures/influxdb-openapi/enterprise-v3.yml,
// and any mismatch is recorded in `violations`, which tests require to be empty. Like the server,
// it refuses a resource token once its `expiry_secs` have passed.

const contract = new OpenApiContract(new URL('../fixtures/influxdb-openapi/enterprise-v3.yml', import.meta.url), 'enterprise-v3')

export interface ResourceToken {
  id: number
  name: string
  token: string
  /** Database name to the actions granted on it. */
  grants: Map<string, Set<'read' | 'write'>>
  /** Unix ms, or undefined for a token that never expires. */
  expiresAt: number | undefined
}

export interface V3Emulator extends ContractServer {
  adminToken: string
  tokens: Map<string, ResourceToken>
  /** Lines written, per database. */
  points: Map<string, string[]>
}

interface CreateRequest { token_name: string; permissions: { resource_type: string; resource_names?: string[]; actions: ('read' | 'write')[] }[]; expiry_secs?: number | null }

const TOKENS_QUERY = /^SELECT name FROM system\.tokens$/i

export async function startV3Emulator(): Promise<V3Emulator> {
  const adminToken = `apiv3_${randomBytes(32).toString('base64url')}`
  const tokens = new Map<string, ResourceToken>()
  const points = new Map<string, string[]>()
  let nextId = 1

  /** Bearer on every endpoint; the v2 Token scheme only on the v1 and v2 compatibility endpoints. */
  const caller = (req: IncomingMessage, compatibility: boolean): ResourceToken | 'admin' | undefined => {
    const m = /^(Bearer|Token) (.+)$/.exec(req.headers.authorization ?? '')
    if (m === null || (m[1] === 'Token' && !compatibility)) return undefined
    if (m[2] === adminToken) return 'admin'
    const t = [...tokens.values()].find((x) => x.token === m[2])
    return t !== undefined && (t.expiresAt === undefined || t.expiresAt > Date.now()) ? t : undefined
  }

  const server = await startContractServer(contract, async (x) => {
    const { req, url, reply } = x
    const p = url.pathname
    const unauthorized = (template: string): void => reply(template, 401, { error: 'unauthorized access', data: null })
    if (p === '/ping' && req.method === 'GET') {
      if (caller(req, true) === undefined) return reply('/ping', 401)
      reply('/ping', 200, { version: '3.9.0', revision: 'emulator', process_id: 'emulator' }, undefined, { 'x-influxdb-version': '3.9.0', 'x-influxdb-build': 'Enterprise' })
      return
    }
    if (p === '/api/v3/enterprise/configure/token' && req.method === 'POST') {
      const template = '/api/v3/enterprise/configure/token'
      if (caller(req, false) !== 'admin') return unauthorized(template)
      const body = JSON.parse(await x.text()) as CreateRequest
      const grants = new Map<string, Set<'read' | 'write'>>()
      for (const perm of body.permissions) {
        for (const db of perm.resource_type === 'db' ? perm.resource_names ?? [] : []) grants.set(db, new Set([...grants.get(db) ?? [], ...perm.actions]))
      }
      const t: ResourceToken = { id: nextId++, name: body.token_name, token: `apiv3_${randomBytes(32).toString('base64url')}`, grants,
        expiresAt: typeof body.expiry_secs === 'number' ? Date.now() + body.expiry_secs * 1000 : undefined }
      tokens.set(t.name, t)
      reply(template, 201, {
        id: t.id, name: t.name, token: t.token, created_at: new Date().toISOString(), expiry: t.expiresAt === undefined ? null : new Date(t.expiresAt).toISOString(),
        token_name: t.name, permissions: body.permissions.map(({ resource_type, resource_names, actions }) => ({ resource_type, resource_names, actions })),
        ...(typeof body.expiry_secs === 'number' ? { expiry_secs: body.expiry_secs } : {})
      }, body)
      return
    }
    if (p === '/api/v3/configure/token' && req.method === 'DELETE') {
      const template = '/api/v3/configure/token'
      if (caller(req, false) !== 'admin') return unauthorized(template)
      reply(template, tokens.delete(url.searchParams.get('token_name') ?? '') ? 200 : 404)
      return
    }
    if (p === '/api/v3/query_sql' && req.method === 'GET') {
      const template = '/api/v3/query_sql'
      if (caller(req, false) !== 'admin') return unauthorized(template)
      if (url.searchParams.get('db') !== '_internal' || !TOKENS_QUERY.test(url.searchParams.get('q') ?? '') || url.searchParams.get('format') !== 'jsonl') {
        x.violation(`the emulator answers only "SELECT name FROM system.tokens" on _internal as jsonl, not ${url.search.slice(0, 120)}`)
        return reply(template, 400)
      }
      reply(template, 200, [...tokens.keys()].map((name) => `${JSON.stringify({ name })}\n`).join(''), undefined, undefined, 'application/jsonl')
      return
    }
    const write = { '/api/v3/write_lp': ['db', false], '/api/v2/write': ['bucket', true], '/write': ['db', true] } as const
    const w = write[p as keyof typeof write] as (typeof write)[keyof typeof write] | undefined
    if (w !== undefined && req.method === 'POST') {
      const db = url.searchParams.get(w[0]) ?? ''
      const who = caller(req, w[1])
      if (who === undefined) return unauthorized(p)
      if (who !== 'admin' && who.grants.get(db)?.has('write') !== true) return reply(p, 403)
      points.set(db, [...points.get(db) ?? [], ...(await x.text()).split('\n').filter((l) => l.trim() !== '')])
      reply(p, 204)
      return
    }
    x.unserved()
  })
  return { ...server, adminToken, tokens, points }
}
