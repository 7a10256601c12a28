import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeTicket, ticketCodeHash } from '../../src/authority/ticket.js'
import { AUTHORITY_ADDRESS, MAX_TICKET_TTL_SECONDS, REVOCATION_LIST_CACHE_MS, TICKET_ID_CHARS } from '../../src/authority/authority-service.js'
import { nodeCrypto } from '../../src/crypto/node-crypto.js'
import { verifyRevocationList } from '../../src/identity/revocation-list.js'
import { local } from '../../src/routing/address.js'
import { callRpc, RemoteError } from '../../src/services/rpc.js'
import { PorticoNode } from '../../src/node/portico-node.js'
import { startProject } from '../support/project.js'
import { newIdentity, testLogger } from '../helpers.js'

// Each operation of the authority, its answer and its refusals, as a caller sees them.
const testProject = await startProject()
after(() => testProject.stop())
const { admin, clientAs } = testProject
const service = testProject.authority.authority ?? assert.fail('no authority')
const code = (e: unknown): string => e instanceof RemoteError ? e.code : String(e)
const now = (): number => Math.floor(Date.now() / 1000)

test('ticket.create: the ticket names the project and every replica; it expires when asked; the answer says so', async () => {
  const before = now()
  const t = await admin.createTicket({ attributes: { site: '1' }, expiresIn: 120, usageCount: 2 })
  const decoded = decodeTicket(t.ticket)
  assert.equal(decoded.project, 'default')
  assert.deepEqual(decoded.replicas, [testProject.authority.project?.route])
  assert.ok(t.expiresAt >= before + 120 && t.expiresAt <= now() + 120)
  assert.deepEqual([t.usageCount, t.attributes, t.role], [2, { site: '1' }, 'member'])
  // The longest life a ticket may have is taken; a second more is not.
  assert.ok((await admin.createTicket({ expiresIn: MAX_TICKET_TTL_SECONDS })).expiresAt >= before + MAX_TICKET_TTL_SECONDS)
  await assert.rejects(admin.createTicket({ expiresIn: MAX_TICKET_TTL_SECONDS + 1 }), (e: unknown) => code(e) === 'bad-request')
})

test('ticket.list and ticket.revoke: an admin sees and revokes every ticket, an enroller only its own, by a 16-digit id', async () => {
  const mine = await admin.createTicket({ attributes: { who: 'admin' } })
  const enrollerTicket = await admin.createTicket({ role: 'enroller' })
  const enrollerIdentity = newIdentity()
  const enroller = await clientAs(enrollerIdentity)
  await enroller.enroll(decodeTicket(enrollerTicket.ticket).code)
  const theirs = await enroller.createTicket({ attributes: { who: 'enroller' } })
  const idOf = (ticket: string): string => ticketCodeHash(decodeTicket(ticket).code).slice(0, TICKET_ID_CHARS)
  const adminView = await admin.listTickets()
  assert.ok(adminView.some((t) => t.id === idOf(mine.ticket)) && adminView.some((t) => t.id === idOf(theirs.ticket)))
  assert.ok(adminView.every((t) => t.id.length === TICKET_ID_CHARS))
  const listed = adminView.find((t) => t.id === idOf(theirs.ticket))
  assert.deepEqual([listed?.attributes, listed?.role, listed?.usesLeft, listed?.createdBy], [{ who: 'enroller' }, 'member', 1, enrollerIdentity.identifier])
  assert.deepEqual((await enroller.listTickets()).map((t) => t.id), [idOf(theirs.ticket)])
  // An enroller cannot revoke another's ticket: to it, there is no such ticket.
  await assert.rejects(enroller.revokeTicket(idOf(mine.ticket)), (e: unknown) => code(e) === 'not-found' && /of yours/.test((e as Error).message))
  await enroller.revokeTicket(idOf(theirs.ticket))
  await assert.rejects(admin.revokeTicket(idOf(theirs.ticket)), (e: unknown) => code(e) === 'not-found' && !/of yours/.test((e as Error).message))
  await admin.revokeTicket(idOf(mine.ticket))
  await assert.rejects((await clientAs(newIdentity())).enroll(decodeTicket(mine.ticket).code), /ticket/)
  // An admin revokes an enroller's live ticket too.
  const another = await enroller.createTicket({ attributes: { who: 'enroller' } })
  await admin.revokeTicket(idOf(another.ticket))
  await assert.rejects((await clientAs(newIdentity())).enroll(decodeTicket(another.ticket).code), /ticket/)
  for (const bad of ['', 'xyz', 'ABCDEF0123456789', '0123456789abcde', `x${'0'.repeat(16)}`, `${'0'.repeat(16)}x`]) {
    await assert.rejects(admin.revokeTicket(bad), (e: unknown) => code(e) === 'bad-request', `id '${bad}'`)
  }
  const member = await clientAs(newIdentity())
  await member.enroll(decodeTicket((await admin.createTicket({})).ticket).code)
  await assert.rejects(member.listTickets(), (e: unknown) => code(e) === 'forbidden' && /not an enroller/.test((e as Error).message))
})

test('member.list pages by identifier; member.show and member.delete name what is missing; an admin cannot delete itself', async () => {
  const ids = [newIdentity(), newIdentity(), newIdentity()].map((i) => i.identifier)
  for (const id of ids) await admin.addMember(id, { paged: 'yes' })
  const all = (await admin.listMembers()).map((m) => m.identifier)
  assert.deepEqual(all, [...all].sort())
  const [first, second] = await admin.listMembers({ limit: 2 })
  assert.equal((await admin.listMembers({ limit: 2 })).length, 2)
  assert.deepEqual((await admin.listMembers({ after: first?.identifier ?? '', limit: 1 })).map((m) => m.identifier), [second?.identifier])
  await assert.rejects(admin.listMembers({ limit: 10_001 }), (e: unknown) => code(e) === 'bad-request')
  await assert.rejects(admin.listMembers({ after: 'x'.repeat(81) }), (e: unknown) => code(e) === 'bad-request')
  assert.deepEqual((await admin.showMember(ids[0] ?? '')).attributes, { paged: 'yes' })
  const stranger = newIdentity().identifier
  await assert.rejects(admin.showMember(stranger), (e: unknown) => code(e) === 'not-found' && /no such member/.test((e as Error).message))
  await assert.rejects(admin.deleteMember(stranger), (e: unknown) => code(e) === 'not-found')
  await assert.rejects(admin.showMember('not-an-identifier'), (e: unknown) => code(e) === 'bad-request' && /not an identifier/.test((e as Error).message))
  const adminId = (await admin.listMembers()).find((m) => m.role === 'admin')?.identifier ?? ''
  await assert.rejects(admin.deleteMember(adminId), (e: unknown) => code(e) === 'forbidden' && /cannot delete itself/.test((e as Error).message))
  const member = await clientAs(newIdentity())
  await member.enroll(decodeTicket((await admin.createTicket({})).ticket).code)
  await assert.rejects(member.listMembers(), (e: unknown) => code(e) === 'forbidden' && /is not an admin of project default/.test((e as Error).message))
  await assert.rejects((await clientAs(newIdentity())).listMembers(), (e: unknown) => code(e) === 'not-member' && /is not a member of project default/.test((e as Error).message))
})

test('the authority answers nothing that did not come through a secure channel', async () => {
  const project = testProject.authority.project ?? assert.fail()
  const node = await PorticoNode.start({ name: 'plain', identity: newIdentity(), log: testLogger('plain'), authorities: () => [project.authority] })
  try {
    // A plain route to the listener's node, no channel: the authority must not answer, not even to refuse.
    const route = [...await node.resolve(project.route), local(AUTHORITY_ADDRESS)]
    // No answer at all, not even a refusal: the call times out rather than getting an error back.
    await assert.rejects(callRpc(node.router, route, 'revocations', {}, { timeoutMs: 1000 }), (e: unknown) => !(e instanceof RemoteError))
  } finally {
    await node.stop()
  }
  const msg = { onward: [], return: [], payload: new Uint8Array(0) }
  await assert.rejects(service['enroll']({ code: new Uint8Array(32) }, msg), /only answers through a secure channel/)
})

test('the revocation list: signed by the authority, holds members deleted within a credential\'s life, and is shared for a second', async () => {
  const victim = newIdentity().identifier
  await admin.addMember(victim, {})
  await admin.deleteMember(victim)
  const project = testProject.authority.project ?? assert.fail()
  const list = verifyRevocationList(nodeCrypto, project.authority, await service.revocationList(), now())
  assert.ok(list.revoked.some((r) => r.identifier === victim))
  // Within the cache time the same bytes go to every poller; a deletion then is in the next list.
  const a = await service.revocationList()
  assert.deepEqual(await service.revocationList(), a)
  const later = newIdentity().identifier
  await admin.addMember(later, {})
  await admin.deleteMember(later)
  const fresh = verifyRevocationList(nodeCrypto, project.authority, await service.revocationList(), now())
  assert.ok(fresh.revoked.some((r) => r.identifier === later), 'a deletion empties the cache at once')
  // Another replica's deletions reach this one's list only by its cache running out.
  const cached = await service.revocationList()
  await new Promise((r) => setTimeout(r, REVOCATION_LIST_CACHE_MS + 1000))
  assert.notDeepEqual(await service.revocationList(), cached, 'after the cache time a new list is signed')
})

test('every admin operation refuses a member and an enroller, every enroller operation a member; enroll checks its code\'s length; an admin ticket makes an admin', async () => {
  const enrollerClient = await clientAs(newIdentity())
  await enrollerClient.enroll(decodeTicket((await admin.createTicket({ role: 'enroller' })).ticket).code)
  const memberClient = await clientAs(newIdentity())
  await memberClient.enroll(decodeTicket((await admin.createTicket({})).ticket).code)
  const someone = newIdentity().identifier
  await admin.addMember(someone, {})
  const adminOps = (c: typeof admin): [string, () => Promise<unknown>][] => [
    ['member.add', () => c.addMember(newIdentity().identifier, {})], ['member.list', () => c.listMembers()], ['member.show', () => c.showMember(someone)],
    ['member.delete', () => c.deleteMember(someone)], ['project.status', () => c.status()]
  ]
  const enrollerOps = (c: typeof admin): [string, () => Promise<unknown>][] => [
    ['ticket.create', () => c.createTicket({})], ['ticket.list', () => c.listTickets()], ['ticket.revoke', () => c.revokeTicket('0'.repeat(16))]
  ]
  for (const [op, call] of [...adminOps(memberClient), ...adminOps(enrollerClient), ...enrollerOps(memberClient)]) {
    await assert.rejects(call(), (e: unknown) => code(e) === 'forbidden', op)
  }
  assert.deepEqual((await admin.showMember(someone)).identifier, someone, 'the refused delete deleted nothing')
  await assert.rejects(memberClient.enroll(new Uint8Array(5)), (e: unknown) => code(e) === 'bad-request' && /wrong code length/.test((e as Error).message))
  const adminIdentity = newIdentity()
  await (await clientAs(adminIdentity)).enroll(decodeTicket((await admin.createTicket({ role: 'admin' })).ticket).code)
  assert.equal((await admin.showMember(adminIdentity.identifier)).role, 'admin')
})
