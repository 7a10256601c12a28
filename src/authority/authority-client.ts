import { z } from 'zod'
import type { CredentialAndPurposeKey } from '../identity/credential.js'
import { local, type Route } from '../routing/address.js'
import type { Router } from '../routing/router.js'
import { attributesSchema, bytesSchema, callRpc } from '../services/rpc.js'
import { AUTHORITY_ADDRESS } from './authority-service.js'

/** An open route to the authority's `api` listener through a secure channel that trusts only the authority. */
export interface AuthorityConnection {
  route: Route
  isOpen(): boolean
}

export type ConnectToAuthority = (signal?: AbortSignal) => Promise<AuthorityConnection>

const Member = z.object({
  identifier: z.string(), attributes: attributesSchema, role: z.enum(['member', 'enroller', 'admin']), mayGrant: z.array(z.string()).optional(),
  addedAt: z.number(), addedBy: z.string().nullable()
})
export type MemberView = z.infer<typeof Member>

const IssuedCredential = z.object({
  credential: bytesSchema, purposeKey: bytesSchema, createdAt: z.number(), expiresAt: z.number(), attributes: attributesSchema
})
export type IssuedCredential = z.infer<typeof IssuedCredential> & CredentialAndPurposeKey

const CreatedTicket = z.object({
  ticket: z.string(), expiresAt: z.number(), usageCount: z.number(), attributes: attributesSchema, role: z.string()
})
export type CreatedTicket = z.infer<typeof CreatedTicket>
const TicketView = z.object({
  id: z.string(), attributes: attributesSchema, role: z.string(), usesLeft: z.number(), expiresAt: z.number(), createdAt: z.number(), createdBy: z.string()
})
export type TicketView = z.infer<typeof TicketView>

export interface TicketRequest {
  attributes?: Record<string, string>
  role?: 'member' | 'enroller' | 'admin'
  expiresIn?: number
  usageCount?: number
  /** For enroller tickets: patterns of the attributes the redeemer's own tickets may grant. */
  mayGrant?: string[]
}

/** Calls the authority over one secure channel, reopened when it closes. */
const ProjectStatusView = z.object({
  project: z.string(), route: z.string(), members: z.number(), replicas: z.array(z.string()),
  relays: z.array(z.object({ name: z.string(), identifier: z.string(), shared: z.boolean(), registeredAt: z.string(), forwarded: z.number() })),
  channels: z.record(z.string(), z.number()),
  /** Each member's last credential from this project node (Unix seconds), the newest members first to be kept. */
  credentials: z.record(z.string(), z.object({ issuedAt: z.number(), expiresAt: z.number() }))
})
export type ProjectStatusView = z.infer<typeof ProjectStatusView>

export class AuthorityClient {
  private connection: AuthorityConnection | undefined

  constructor(private readonly router: Router, private readonly connect: ConnectToAuthority) {}

  private async call(op: string, args: unknown, signal?: AbortSignal): Promise<unknown> {
    if (this.connection?.isOpen() !== true) this.connection = await this.connect(signal)
    const route = [...this.connection.route, local(AUTHORITY_ADDRESS)]
    return callRpc(this.router, route, op, args, signal !== undefined ? { signal } : {})
  }

  async enroll(code: Uint8Array, signal?: AbortSignal): Promise<MemberView> {
    return Member.parse(await this.call('enroll', { code }, signal))
  }

  async credential(signal?: AbortSignal): Promise<IssuedCredential> {
    return IssuedCredential.parse(await this.call('credential', {}, signal))
  }

  /** The project node's view (admins only): replicas, members counted, relays, identities with channels to it. */
  async status(signal?: AbortSignal): Promise<ProjectStatusView> {
    return ProjectStatusView.parse(await this.call('project.status', {}, signal))
  }

  async revocations(signal?: AbortSignal): Promise<Uint8Array> {
    return bytesSchema.parse(await this.call('revocations', {}, signal))
  }

  async createTicket(request: TicketRequest, signal?: AbortSignal): Promise<CreatedTicket> {
    return CreatedTicket.parse(await this.call('ticket.create', request, signal))
  }

  async listTickets(signal?: AbortSignal): Promise<TicketView[]> {
    return z.array(TicketView).parse(await this.call('ticket.list', {}, signal))
  }

  async revokeTicket(id: string, signal?: AbortSignal): Promise<void> {
    await this.call('ticket.revoke', { id }, signal)
  }

  async addMember(identifier: string, attributes: Record<string, string>, role: 'member' | 'enroller' | 'admin' = 'member', signal?: AbortSignal): Promise<MemberView> {
    return Member.parse(await this.call('member.add', { identifier, attributes, role }, signal))
  }

  async listMembers(options: { after?: string; limit?: number } = {}, signal?: AbortSignal): Promise<MemberView[]> {
    return z.array(Member).parse(await this.call('member.list', options, signal))
  }

  async showMember(identifier: string, signal?: AbortSignal): Promise<MemberView> {
    return Member.parse(await this.call('member.show', { identifier }, signal))
  }

  async deleteMember(identifier: string, signal?: AbortSignal): Promise<void> {
    await this.call('member.delete', { identifier }, signal)
  }
}
