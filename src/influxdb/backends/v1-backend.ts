import { createHmac, randomBytes } from 'node:crypto'
import { BackendError, call, DatabaseNotFoundError, type Endpoint } from './http.js'
import { databaseActions, type IssuedToken, type IssueRequest, type LeaseBackend, type Permission, type TaggedCredential } from './backend.js'

/** Lease users are named `portico_lease_<id>`: the tag by which orphans are found. */
export const V1_USER_PREFIX = 'portico_lease_'

export interface V1Options {
  endpoint: Endpoint
  adminUsername: string
  adminPassword: string
  /** `[http] shared-secret`: when set, the injected token is a JWT the server itself expires. */
  sharedSecret?: string
}

/** InfluxQL grants from v2-style permissions: a bucket is a database; read and write on one database make ALL. */
export function v1Grants(permissions: readonly Permission[]): { database: string; privilege: 'READ' | 'WRITE' | 'ALL' }[] {
  return [...databaseActions(permissions, 'InfluxDB 1.x')].map(([database, actions]) => ({ database, privilege: actions.size === 2 ? 'ALL' : actions.has('write') ? 'WRITE' : 'READ' }))
}

/** The token InfluxDB 1.x accepts with `[http] shared-secret`: an HS256 JWT whose `exp` it enforces. */
export function v1Jwt(secret: string, username: string, expiresAtMs: number): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ username, exp: Math.floor(expiresAtMs / 1000) })}`
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`
}

/** InfluxDB 1.x: a dedicated user per lease, granted per database, dropped at expiry. */
export class V1Backend implements LeaseBackend {
  readonly kind = 'v1'

  constructor(private readonly o: V1Options) {}

  private async influxql(q: string, signal?: AbortSignal): Promise<unknown> {
    const auth = `Basic ${Buffer.from(`${this.o.adminUsername}:${this.o.adminPassword}`).toString('base64')}`
    const r = await call(this.o.endpoint, 'POST', '/query', { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ q }).toString(), signal)
    let parsed: { error?: string; results?: { error?: string; series?: { values?: unknown[][] }[] }[] }
    try {
      parsed = JSON.parse(r.body) as typeof parsed
    } catch {
      throw new BackendError(`InfluxDB answered ${r.status} with something that is not JSON`, r.status)
    }
    const err = parsed.error ?? parsed.results?.find((x) => x.error !== undefined)?.error
    if (err !== undefined && /^database not found/.test(err)) throw new DatabaseNotFoundError(`InfluxDB refused: ${err} (create the database first)`, r.status)
    if (r.status !== 200 || err !== undefined) throw new BackendError(`InfluxDB refused: ${err ?? `status ${r.status}`}`, r.status)
    return parsed
  }

  async issue(req: IssueRequest, signal?: AbortSignal): Promise<IssuedToken> {
    const grants = v1Grants(req.permissions)
    const username = `${V1_USER_PREFIX}${req.leaseId}`
    const password = randomBytes(24).toString('base64url')
    await this.influxql(`CREATE USER "${username}" WITH PASSWORD '${password}'`, signal)
    try {
      for (const g of grants) await this.influxql(`GRANT ${g.privilege} ON "${g.database}" TO "${username}"`, signal)
    } catch (err) {
      await this.revoke(username).catch(() => undefined)
      throw err
    }
    if (this.o.sharedSecret !== undefined) {
      const token = v1Jwt(this.o.sharedSecret, username, req.expiresAt)
      return { backend: this.kind, backendId: username, authorization: `Bearer ${token}`, token }
    }
    return { backend: this.kind, backendId: username, authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`, token: `${username}:${password}` }
  }

  /**
   * The admin credentials work (SHOW USERS is for admins only), and with a shared secret the
   * server takes a token signed with it: otherwise every lease would be refused at its first use.
   */
  async verify(signal?: AbortSignal): Promise<void> {
    try {
      await this.influxql('SHOW USERS', signal)
    } catch (err) {
      throw new BackendError(`InfluxDB refused the outlet's admin credentials (admin-username, admin-password): ${(err as Error).message}`, err instanceof BackendError ? err.status : undefined, { cause: err })
    }
    if (this.o.sharedSecret === undefined) return
    const token = v1Jwt(this.o.sharedSecret, this.o.adminUsername, Date.now() + 60_000)
    const r = await call(this.o.endpoint, 'POST', '/query', { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, 'q=SHOW+DATABASES', signal)
    if (r.status !== 200) throw new BackendError(`InfluxDB refused a token signed with the outlet's shared-secret (status ${r.status}): its [http] shared-secret must be set to the same value`, r.status)
  }

  async revoke(backendId: string, signal?: AbortSignal): Promise<void> {
    if (!backendId.startsWith(V1_USER_PREFIX) || !/^[A-Za-z0-9_]+$/.test(backendId)) throw new BackendError('not a lease user')
    try {
      await this.influxql(`DROP USER "${backendId}"`, signal)
    } catch (err) {
      if (err instanceof BackendError && /user not found/.test(err.message)) return
      throw err
    }
  }

  async listTagged(signal?: AbortSignal): Promise<TaggedCredential[]> {
    const r = await this.influxql('SHOW USERS', signal) as { results?: { series?: { values?: unknown[][] }[] }[] }
    const names = (r.results?.[0]?.series?.[0]?.values ?? []).map((v) => String(v[0]))
    return names.filter((n) => n.startsWith(V1_USER_PREFIX)).map((n) => ({ backendId: n, leaseId: n.slice(V1_USER_PREFIX.length) }))
  }
}
