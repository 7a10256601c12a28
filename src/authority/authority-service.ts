import type { Logger } from 'pino'
import { z } from 'zod'
import type { Crypto } from '../crypto/crypto.js'
import type { Identity } from '../identity/identity.js'
import type { LocalIdentity } from '../identity/local-identity.js'
import { isIdentifier } from '../identity/identifier.js'
import { signRevocationList } from '../identity/revocation-list.js'
import { MAX_CLOCK_SKEW_SECONDS } from '../identity/purpose-key.js'
import type { LocalMessage } from '../routing/message.js'
import type { Router } from '../routing/router.js'
import { attributesSchema, bytesSchema, RpcError, serveRpc } from '../services/rpc.js'
import type { MemberRecord, Role, Store } from '../store/store.js'
import { setNewest } from '../util/recency-map.js'
import { MAX_SCOPE_PATTERNS, outsideScope, ScopePattern } from './grant-scope.js'
import {
  DEFAULT_TICKET_TTL_SECONDS, DEFAULT_TICKET_USES, encodeTicket, newTicketCode, ticketCodeHash, TICKET_CODE_BYTES
} from './ticket.js'

export const AUTHORITY_ADDRESS = 'authority'
export const DEFAULT_CREDENTIAL_TTL_SECONDS = 3600
export const MAX_TICKET_TTL_SECONDS = 30 * 24 * 3600
export const MAX_TICKET_USES = 1_000_000
/** Pollers share one signed revocation list for this long, so 10,000 nodes cost one signature a second. */
export const REVOCATION_LIST_CACHE_MS = 1000
/** Members whose last credential from this project node is remembered (the newest), for the console. */
export const MAX_REMEMBERED_CREDENTIALS = 100_000

const Identifier = z.string().refine(isIdentifier, 'not an identifier (I followed by 64 hex digits)')
const RoleSchema = z.enum(['member', 'enroller', 'admin'])
/** A ticket is listed and revoked by this many hex digits of its code's hash (the code itself is never kept). */
export const TICKET_ID_CHARS = 16

const Args = {
  enroll: z.object({ code: bytesSchema.refine((b) => b.byteLength === TICKET_CODE_BYTES, 'wrong code length') }).strict(),
  none: z.object({}).strict(),
  ticket: z.object({
    attributes: attributesSchema.default({}),
    role: RoleSchema.default('member'),
    expiresIn: z.number().int().positive().max(MAX_TICKET_TTL_SECONDS).default(DEFAULT_TICKET_TTL_SECONDS),
    usageCount: z.number().int().positive().max(MAX_TICKET_USES).default(DEFAULT_TICKET_USES),
    mayGrant: z.array(ScopePattern).max(MAX_SCOPE_PATTERNS).optional()
  }).strict(),
  memberAdd: z.object({ identifier: Identifier, attributes: attributesSchema.default({}), role: RoleSchema.default('member') }).strict(),
  memberList: z.object({ after: z.string().max(80).optional(), limit: z.number().int().positive().max(10_000).optional() }).strict(),
  member: z.object({ identifier: Identifier }).strict(),
  ticketList: z.object({ limit: z.number().int().positive().max(10_000).optional() }).strict(),
  ticketRevoke: z.object({ id: z.string().regex(/^[0-9a-f]{16,64}$/, 'a ticket id is 16 hexadecimal digits, as `ticket list` shows it') }).strict()
}

export interface AuthorityOptions {
  identity: LocalIdentity
  crypto: Crypto
  store: Store
  /** `replicas`: the routes of every replica, read at each ticket (they change as replicas come and go). */
  project: { name: string; route: string; replicas?: () => readonly string[] }
  log: Logger
  credentialTtlSeconds?: number
  now: () => number
  /** The peer identity behind a secure channel address, to sign a credential for its latest key. */
  peerOf: (channel: string) => Identity | undefined
  /** Told at once when a member is deleted, so this node closes its channels without waiting to poll. */
  onRevoked?: (identifier: string) => void
  /** Told when an identity becomes a member (again). */
  onMember?: (identifier: string) => void
  /** What this project node serves now (relays, peers with channels to it), for `project.status`. */
  status?: () => ProjectStatus
}

/** A project node as an admin's console sees it. */
export interface ProjectStatus {
  replicas: readonly string[]
  relays: readonly { name: string; identifier: string; shared: boolean; registeredAt: string; forwarded: number }[]
  /** Identities with a secure channel to this project node, and how many. */
  channels: Readonly<Record<string, number>>
}

function memberView(m: MemberRecord): Record<string, unknown> {
  return { identifier: m.identifier, attributes: m.attributes, role: m.role, addedAt: m.addedAt, addedBy: m.addedBy, ...(m.mayGrant !== undefined ? { mayGrant: m.mayGrant } : {}) }
}

/**
 * The project's authority: redeems tickets, keeps members, signs short-lived credentials for their
 * attributes, and publishes the signed list of revoked members.
 */
export class AuthorityService {
  private revocationCache: { bytes: Uint8Array; at: number } | undefined
  /** When each member last got a credential here, and until when it holds (Unix seconds). */
  private readonly issued = new Map<string, { issuedAt: number; expiresAt: number }>()

  constructor(private readonly o: AuthorityOptions) {}

  get ttlSeconds(): number {
    return this.o.credentialTtlSeconds ?? DEFAULT_CREDENTIAL_TTL_SECONDS
  }

  /** Makes `admin` the first admin if the project has none yet. */
  async bootstrap(admin: string): Promise<void> {
    if (await this.o.store.members.get(admin) === undefined) {
      await this.o.store.members.put({ identifier: admin, attributes: {}, role: 'admin', addedAt: this.o.now(), addedBy: null })
      this.o.log.info({ admin }, 'first admin added')
    }
  }

  start(router: Router): void {
    serveRpc(router, AUTHORITY_ADDRESS, {
      enroll: (a, m) => this.enroll(a, m),
      credential: (a, m) => this.credential(a, m),
      'ticket.create': (a, m) => this.createTicket(a, m),
      'ticket.list': async (a, m) => {
        const { limit } = Args.ticketList.parse(a)
        const caller = await this.require(m, 'enroller')
        // An enroller sees the tickets it made; an admin, all of them. Never the codes: they are not kept.
        const rows = await this.o.store.tickets.outstanding(this.o.now(), limit ?? 1000, caller.role === 'admin' ? undefined : caller.identifier)
        return rows.map((t) => ({ id: t.codeHash.slice(0, TICKET_ID_CHARS), attributes: t.attributes, role: t.role, usesLeft: t.usesLeft, expiresAt: t.expiresAt, createdAt: t.createdAt, createdBy: t.createdBy }))
      },
      'ticket.revoke': async (a, m) => {
        const { id } = Args.ticketRevoke.parse(a)
        const caller = await this.require(m, 'enroller')
        if (!await this.o.store.tickets.revoke(id, caller.role === 'admin' ? undefined : caller.identifier)) throw new RpcError(`no outstanding ticket ${id}${caller.role === 'admin' ? '' : ' of yours'}`, 'not-found')
        this.o.log.info({ ticket: id, by: caller.identifier }, 'ticket revoked')
        return { revoked: id }
      },
      'member.add': (a, m) => this.addMember(a, m),
      'member.list': async (a, m) => {
        await this.require(m, 'admin')
        const args = Args.memberList.parse(a)
        return (await this.o.store.members.list({ ...(args.after !== undefined ? { after: args.after } : {}), limit: args.limit ?? 1000 })).map(memberView)
      },
      'member.show': async (a, m) => {
        await this.require(m, 'admin')
        const found = await this.o.store.members.get(Args.member.parse(a).identifier)
        if (found === undefined) throw new RpcError('no such member', 'not-found')
        return memberView(found)
      },
      'member.delete': (a, m) => this.deleteMember(a, m),
      'project.status': async (a, m) => {
        Args.none.parse(a)
        await this.require(m, 'admin')
        const members = await this.o.store.members.count()
        return {
          project: this.o.project.name, route: this.o.project.route, members, credentials: Object.fromEntries(this.issued),
          ...(this.o.status?.() ?? { replicas: [this.o.project.route], relays: [], channels: {} })
        }
      },
      revocations: async (a, m) => {
        Args.none.parse(a)
        await this.require(m, 'member')
        return this.revocationList()
      }
    }, this.o.log, (msg) => msg.secureChannel !== undefined)
  }

  private callerOf(msg: LocalMessage): string {
    const id = msg.secureChannel?.identifier
    if (id === undefined) throw new RpcError('the authority only answers through a secure channel', 'unauthenticated')
    return id
  }

  private async require(msg: LocalMessage, role: Role): Promise<MemberRecord> {
    const caller = this.callerOf(msg)
    const member = await this.o.store.members.get(caller)
    if (member === undefined) throw new RpcError(`${caller} is not a member of project ${this.o.project.name}`, 'not-member')
    const rank = { member: 0, enroller: 1, admin: 2 }
    if (rank[member.role] < rank[role]) throw new RpcError(`${caller} is not ${role === 'admin' ? 'an admin' : `an ${role}`} of project ${this.o.project.name}`, 'forbidden')
    return member
  }

  private async enroll(args: unknown, msg: LocalMessage): Promise<unknown> {
    const { code } = Args.enroll.parse(args)
    const caller = this.callerOf(msg)
    const member = await this.o.store.tickets.redeem(ticketCodeHash(code), caller, this.o.now())
    this.revocationCache = undefined
    this.o.log.info({ member: caller, attributes: member.attributes }, 'member enrolled')
    this.o.onMember?.(caller)
    return memberView(member)
  }

  private async credential(args: unknown, msg: LocalMessage): Promise<unknown> {
    Args.none.parse(args)
    const member = await this.require(msg, 'member')
    const subject = this.o.peerOf(msg.secureChannel?.channel ?? '')
    if (subject?.identifier !== member.identifier) throw new RpcError('the secure channel closed before the credential was issued', 'unavailable')
    const now = this.o.now()
    const c = this.o.identity.issueCredential(subject, member.attributes, { now, ttlSeconds: this.ttlSeconds })
    setNewest(this.issued, member.identifier, { issuedAt: now, expiresAt: now + this.ttlSeconds }, MAX_REMEMBERED_CREDENTIALS)
    return { credential: c.credential, purposeKey: c.purposeKey, createdAt: now, expiresAt: now + this.ttlSeconds, attributes: member.attributes }
  }

  private async createTicket(args: unknown, msg: LocalMessage): Promise<unknown> {
    const a = Args.ticket.parse(args)
    const caller = await this.require(msg, 'enroller')
    if (a.role !== 'member' && caller.role !== 'admin') throw new RpcError('only admins may create enroller or admin tickets', 'forbidden')
    if (a.mayGrant !== undefined && a.role !== 'enroller') throw new RpcError('a scope (may-grant) is given with enroller tickets only', 'invalid')
    if (caller.role === 'enroller') {
      const outside = outsideScope(a.attributes, caller.mayGrant)
      if (outside.length > 0) {
        this.o.log.warn({ by: caller.identifier, refused: outside }, 'ticket refused: attributes outside the enroller\'s scope')
        throw new RpcError(`${caller.identifier} may not grant ${outside.join(', ')}: ${caller.mayGrant === undefined ? 'relay and outlet attributes are for admins, or enrollers whose scope names them' : 'outside its scope'}`, 'forbidden')
      }
    }
    const code = newTicketCode()
    const now = this.o.now()
    await this.o.store.tickets.create({
      codeHash: ticketCodeHash(code), attributes: a.attributes, role: a.role, usesLeft: a.usageCount, expiresAt: now + a.expiresIn, createdAt: now, createdBy: caller.identifier,
      ...(a.mayGrant !== undefined ? { mayGrant: a.mayGrant } : {})
    })
    this.o.log.info({ by: caller.identifier, attributes: a.attributes, role: a.role, uses: a.usageCount, expiresIn: a.expiresIn }, 'ticket created')
    return {
      ticket: encodeTicket({ code, project: this.o.project.name, route: this.o.project.route, authority: this.o.identity.identity.export(), replicas: this.o.project.replicas?.() ?? [this.o.project.route] }),
      expiresAt: now + a.expiresIn, usageCount: a.usageCount, attributes: a.attributes, role: a.role
    }
  }

  private async addMember(args: unknown, msg: LocalMessage): Promise<unknown> {
    const admin = await this.require(msg, 'admin')
    const a = Args.memberAdd.parse(args)
    const member: MemberRecord = { identifier: a.identifier, attributes: a.attributes, role: a.role, addedAt: this.o.now(), addedBy: admin.identifier }
    await this.o.store.members.put(member)
    this.revocationCache = undefined
    this.o.log.info({ member: a.identifier, by: admin.identifier }, 'member added')
    this.o.onMember?.(a.identifier)
    return memberView(member)
  }

  private async deleteMember(args: unknown, msg: LocalMessage): Promise<unknown> {
    const admin = await this.require(msg, 'admin')
    const { identifier } = Args.member.parse(args)
    if (identifier === admin.identifier) throw new RpcError('an admin cannot delete itself', 'forbidden')
    if (!await this.o.store.members.delete(identifier, this.o.now())) throw new RpcError('no such member', 'not-found')
    this.revocationCache = undefined
    this.o.log.info({ member: identifier, by: admin.identifier }, 'member deleted and revoked')
    this.o.onRevoked?.(identifier)
    return { deleted: identifier }
  }

  /** Revocations younger than the longest credential life (plus skew): older ones have expired anyway. */
  async revocationList(): Promise<Uint8Array> {
    const cached = this.revocationCache
    if (cached !== undefined && Date.now() - cached.at < REVOCATION_LIST_CACHE_MS) return cached.bytes
    const now = this.o.now()
    const horizon = now - this.ttlSeconds - 2 * MAX_CLOCK_SKEW_SECONDS
    await this.o.store.revocations.prune(horizon)
    const revoked = await this.o.store.revocations.list(horizon)
    const bytes = signRevocationList(this.o.crypto, this.o.identity.identity, this.o.identity.credentialSigningKey(), now, revoked)
    this.revocationCache = { bytes, at: Date.now() }
    return bytes
  }
}
