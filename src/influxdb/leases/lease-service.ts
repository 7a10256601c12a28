import type { Logger } from 'pino'
import { LeaseError, type LeaseGrant, type LeaseView } from './lease-types.js'
import { z } from 'zod'
import type { Decision } from '../../policy/policy.js'
import type { LocalMessage } from '../../routing/message.js'
import { local, type Route } from '../../routing/address.js'
import type { Router } from '../../routing/router.js'
import { callRpc, DEFAULT_RPC_TIMEOUT_MS, RpcError, serveRpc } from '../../services/rpc.js'
import type { LeaseManager } from './lease-manager.js'
import { MAX_PERMISSIONS, PermissionSchema } from './permissions.js'
import { issueFields } from '../../encoding/validation.js'

/** An owner mark and 16 random hex digits, or the 16 alone (ids issued before marks). */
const Id = z.object({ id: z.string().regex(/^(?:[0-9a-f]{8})?[0-9a-f]{16}$/, 'no such lease: a lease id is 24 hexadecimal digits') }).strict()

/**
 * The lease manager's service: its only callers are identities on secure channels that pass the
 * outlet's policy; each sees and revokes only its own leases.
 */
/** A lease ready later than this after its request arrived may reach nobody: its caller's RPC times out (less a margin for the trip). */
export const LEASE_ANSWER_WITHIN_MS = DEFAULT_RPC_TIMEOUT_MS - 1000

export function serveLeases(router: Router, address: string, manager: LeaseManager, decide: (msg: LocalMessage) => Decision, log: Logger, decideAdmin?: (msg: LocalMessage) => Decision): void {
  // The outlet's lease admins (its `admin-allow` policy; none without one) see and end every holder's leases.
  const admin = (msg: LocalMessage): string => {
    const sc = msg.secureChannel
    if (sc === undefined) throw new RpcError('leases are only given through a secure channel', 'unauthenticated')
    const d = decideAdmin?.(msg)
    if (d?.allowed !== true) throw new RpcError(`${sc.identifier} is not a lease admin of this outlet${d === undefined ? ' (it has no admin-allow policy)' : `: ${d.reason}`}`, 'forbidden')
    return sc.identifier
  }
  const caller = (msg: LocalMessage): { identifier: string; attributes: Record<string, string> } => {
    const sc = msg.secureChannel
    if (sc === undefined) throw new RpcError('leases are only given through a secure channel', 'unauthenticated')
    const d = decide(msg)
    if (!d.allowed) throw new RpcError(`lease refused: ${d.reason}`, 'forbidden')
    return { identifier: sc.identifier, attributes: { ...sc.attributes } }
  }
  serveRpc(router, address, {
    create: async (a, m) => {
      z.object({}).strict().parse(a)
      return manager.createWithin(caller(m), LEASE_ANSWER_WITHIN_MS)
    },
    list: async (a, m) => {
      const { all } = z.object({ all: z.literal(true).optional() }).strict().parse(a)
      if (all === true) {
        admin(m)
        return manager.listAll()
      }
      return manager.list(caller(m).identifier)
    },
    'revoke-identity': async (a, m) => {
      const { identifier } = z.object({ identifier: z.string().regex(/^I[0-9a-f]{64}$/) }).strict().parse(a)
      return { identifier, revoked: await manager.revokeAllOf(identifier, admin(m)) }
    },
    show: async (a, m) => manager.show(caller(m).identifier, Id.parse(a).id),
    revoke: async (a, m) => {
      await manager.revoke(caller(m).identifier, Id.parse(a).id)
      return { revoked: Id.parse(a).id }
    }
  }, log, (msg) => msg.secureChannel !== undefined)
}

/** A Host header value: a host name (underscores too, as container names have them), IPv4 or bracketed IPv6 address, and an optional port. */
const HOST_HEADER_RE = /^(?:[A-Za-z0-9._-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/
/** What the inlet puts in its requests' Authorization header: a scheme and a credential, visible ASCII only. */
const AUTHORIZATION_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31} [\x21-\x7e]{1,8192}$/
// `host` and `expiresInMs` are absent from the grants of outlets older than them: their inlets'
// clients keep their own Host, and their leases are timed by `expiresAt` and the inlet's clock.
const Grant = z.object({
  id: z.string().min(1).max(128), expiresAt: z.number().int().nonnegative(), expiresInMs: z.number().int().nonnegative().optional(), authorization: z.string().regex(AUTHORIZATION_RE),
  token: z.string().regex(/^[\x21-\x7e]{1,8192}$/), backend: z.string().max(32), host: z.string().regex(HOST_HEADER_RE).optional(),
  permissions: z.array(PermissionSchema).max(MAX_PERMISSIONS)
}).transform(({ host, expiresInMs, ...g }): LeaseGrant => {
  const grant = { ...g, expiresInMs: expiresInMs ?? Math.max(0, g.expiresAt - Date.now()) }
  return (host === undefined ? grant : { ...grant, host }) as LeaseGrant
})

/**
 * A lease grant as an outlet sent it. Its `authorization` and `host` go into requests' headers, so
 * they must be valid header values: an outlet that sends anything else is refused here, not
 * passed on to fail (or worse, to split a header) in the inlet.
 */
export function parseLeaseGrant(value: unknown): LeaseGrant {
  const r = Grant.safeParse(value)
  if (r.success) return r.data
  // Field names only: the values may be secrets.
  throw new LeaseError(`the outlet's lease grant is not usable: bad ${issueFields(r.error, 'grant').join(', ')}`)
}
const View = z.object({
  id: z.string(), identifier: z.string(), backend: z.string(), createdAt: z.string(), expiresAt: z.string(), revokedAt: z.string().nullable(), permissions: z.unknown()
})

/** Where a lease manager is; `closed`, when given, aborts once the channel that route runs over closes. */
export type LeaseRoute = Route | { route: Route; closed: AbortSignal }

/** Calls a lease manager at `route` (which goes through a secure channel). */
export class LeaseClient {
  constructor(private readonly router: Router, private readonly route: () => Promise<LeaseRoute>) {}

  private async call(op: string, args: unknown, signal?: AbortSignal): Promise<unknown> {
    const r = await this.route()
    const [route, closed] = 'route' in r ? [r.route, r.closed] : [r, undefined]
    // A request whose channel closes (the outlet went away) fails at once, not at its time-out.
    const s = closed === undefined ? signal : signal === undefined ? closed : AbortSignal.any([signal, closed])
    return callRpc(this.router, route, op, args, s !== undefined ? { signal: s } : {})
  }

  async create(signal?: AbortSignal): Promise<LeaseGrant> {
    return parseLeaseGrant(await this.call('create', {}, signal))
  }

  async list(signal?: AbortSignal, all = false): Promise<LeaseView[]> {
    return z.array(View).parse(await this.call('list', all ? { all: true } : {}, signal))
  }

  async revokeIdentity(identifier: string, signal?: AbortSignal): Promise<number> {
    return z.object({ revoked: z.number() }).parse(await this.call('revoke-identity', { identifier }, signal)).revoked
  }

  async show(id: string, signal?: AbortSignal): Promise<LeaseView> {
    return View.parse(await this.call('show', { id }, signal))
  }

  async revoke(id: string, signal?: AbortSignal): Promise<void> {
    await this.call('revoke', { id }, signal)
  }
}

export function leaseServiceAddress(outlet: string): string {
  return `${outlet}-leases`
}

export const leaseRoute = (channelRoute: Route, outlet: string): Route => [...channelRoute, local(leaseServiceAddress(outlet))]
