import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeTicket } from '../../src/authority/ticket.js'
import { decodeCredential } from '../../src/identity/credential.js'
import { MAX_TICKET_TTL_SECONDS, MAX_TICKET_USES } from '../../src/authority/authority-service.js'
import { authorityClientFor } from '../../src/node/membership.js'
import type { NodeRuntime } from '../../src/node/node-runtime.js'
import { startProject } from '../support/project.js'
import type { NodeConfig } from '../../src/node/config.js'
import { PorticoNode } from '../../src/node/portico-node.js'
import { local } from '../../src/routing/address.js'
import { RemoteError } from '../../src/services/rpc.js'
import { newIdentity, routeTo, str, testLogger, text, waitFor } from '../helpers.js'

const testProject = await startProject({ credentialTtlSeconds: 4 })
after(() => testProject.stop())
const project = testProject.authority
const adminClient = testProject.admin
const { runtime, clientAs } = testProject
const enrolledNode = (name: string, attributes: Record<string, string>, config: NodeConfig = {}): Promise<NodeRuntime> => testProject.member(name, attributes, config)

test('a ticket makes its redeemer a member with the ticket\'s attributes and a short-lived credential', async () => {
  const rt = await enrolledNode('device-1', { 'influxdb-inlet': 'true' })
  assert.deepEqual(rt.membership?.credentials.attributes, { 'influxdb-inlet': 'true' })
  const expires = rt.membership?.credentials.expiresAt ?? 0
  assert.ok(expires > Date.now() / 1000 && expires <= Date.now() / 1000 + 5)
  // The life the authority was given is the one it signs, not only the one it answers with.
  const signed = decodeCredential(rt.membership?.credentials.credentials()[0]?.credential ?? assert.fail('no credential'))
  assert.deepEqual([signed.expiresAt - signed.createdAt, signed.expiresAt], [4, expires])
  const m = await adminClient.showMember(rt.node.identifier)
  assert.equal(m.role, 'member')
  assert.deepEqual(rt.notReady(), [])
})

test('policies guard a service by the subject\'s attested attributes', async () => {
  const server = await enrolledNode('server', {}, { policies: { echo: '(= subject.site "a")' } })
  const siteA = await enrolledNode('site-a', { site: 'a' })
  const siteB = await enrolledNode('site-b', { site: 'b' })
  const echo = routeTo(server.node, '/secure/api/service/echo')
  assert.equal(str(await siteA.node.send(await siteA.node.resolve(echo), text('hi'))), 'hi')
  await assert.rejects(siteB.node.send(await siteB.node.resolve(echo), text('hi'), { timeoutMs: 500 }), /no answer/)
  // A stranger without a credential from the authority cannot even open a channel to a member node.
  const stranger = await PorticoNode.start({ name: 'stranger', identity: newIdentity(), log: testLogger('stranger') })
  await assert.rejects(stranger.resolve(echo), /no valid credential/)
  await stranger.stop()
})

test('tickets: only admins and enrollers create them, only admins create enroller tickets; non-members get no credential', async () => {
  const member = await enrolledNode('plain-member', {})
  const memberClient = authorityClientFor(member.node, member.project ?? assert.fail())
  await assert.rejects(memberClient.createTicket({}), (e: unknown) => e instanceof RemoteError && e.code === 'forbidden')
  const { ticket } = await adminClient.createTicket({ role: 'enroller' })
  const enroller = await runtime('enroller', newIdentity(), { ticket })
  const enrollerClient = authorityClientFor(enroller.node, enroller.project ?? assert.fail())
  const t = await enrollerClient.createTicket({ attributes: { x: '1' } })
  assert.ok(t.ticket.length > 0)
  await assert.rejects(enrollerClient.createTicket({ role: 'enroller' }), /only admins/)
  await assert.rejects(memberClient.addMember(newIdentity().identifier, {}), (e: unknown) => e instanceof RemoteError && e.code === 'forbidden')
  const outsider = await clientAs(newIdentity())
  await assert.rejects(outsider.credential(), (e: unknown) => e instanceof RemoteError && e.code === 'not-member')
  await assert.rejects(outsider.revocations(), /not a member/)
})

test('an enroller grants only what its scope allows; without a scope, never relay or outlet attributes', async () => {
  const forbidden = (e: unknown): boolean => e instanceof RemoteError && e.code === 'forbidden'
  const plain = await adminClient.createTicket({ role: 'enroller' })
  const unscoped = authorityClientFor((await runtime('unscoped', newIdentity(), { ticket: plain.ticket })).node, testProject.authority.project ?? assert.fail())
  await assert.rejects(unscoped.createTicket({ attributes: { 'influxdb-outlet': 'true', relay: 'influxdb' } }), forbidden)
  await assert.rejects(unscoped.createTicket({ attributes: { relay: 'influxdb' } }), /may not grant relay=influxdb/)
  await assert.rejects(unscoped.createTicket({ attributes: { 'db-outlet': 'true' } }), forbidden)
  assert.ok((await unscoped.createTicket({ attributes: { 'influxdb-inlet': 'true', bucket: 'site-1' } })).ticket.length > 0)
  const scopedTicket = await adminClient.createTicket({ role: 'enroller', mayGrant: ['influxdb-inlet=true', 'bucket=site-*'] })
  const scopedNode = await runtime('scoped', newIdentity(), { ticket: scopedTicket.ticket })
  const scoped = authorityClientFor(scopedNode.node, scopedNode.project ?? assert.fail())
  assert.ok((await scoped.createTicket({ attributes: { 'influxdb-inlet': 'true', bucket: 'site-9' } })).ticket.length > 0)
  await assert.rejects(scoped.createTicket({ attributes: { 'influxdb-inlet': 'true', bucket: 'secret' } }), /may not grant bucket=secret/)
  await assert.rejects(scoped.createTicket({ attributes: { analyst: 'true' } }), forbidden)
  await assert.rejects(scoped.createTicket({ attributes: { relay: 'influxdb' } }), forbidden)
  assert.deepEqual((await adminClient.showMember(scopedNode.node.identifier)).mayGrant, ['influxdb-inlet=true', 'bucket=site-*'])
  await assert.rejects(adminClient.createTicket({ mayGrant: ['x=1'] }), /enroller tickets only/)
})

test('ticket bounds: a life or a usage count past the limits is refused; a ticket for N uses makes exactly N members', async () => {
  await assert.rejects(adminClient.createTicket({ expiresIn: MAX_TICKET_TTL_SECONDS + 1 }), /expiresIn|too big|<=/)
  await assert.rejects(adminClient.createTicket({ usageCount: MAX_TICKET_USES + 1 }), /usageCount|too big|<=/)
  await assert.rejects(adminClient.createTicket({ usageCount: 0 }), /usageCount|too small|>/)
  const { ticket } = await adminClient.createTicket({ usageCount: 3, attributes: { batch: 'three' } })
  const code = decodeTicket(ticket).code
  const clients = await Promise.all(Array.from({ length: 5 }, () => clientAs(newIdentity())))
  const results = await Promise.allSettled(clients.map((c) => c.enroll(code)))
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3)
  assert.ok(results.filter((r) => r.status === 'rejected').every((r) => /already been used/.test(String((r).reason))))
  // An expired ticket is refused too.
  const short = await adminClient.createTicket({ expiresIn: 1 })
  await new Promise((r) => setTimeout(r, 2100))
  await assert.rejects((await clientAs(newIdentity())).enroll(decodeTicket(short.ticket).code), /expired/)
})

test('a node restarted with the ticket it enrolled with does not redeem it again', async () => {
  const identity = newIdentity()
  const { ticket } = await adminClient.createTicket({ attributes: { restarted: 'yes' } })
  const first = await runtime('restarted-1', identity, { ticket })
  await waitFor(() => first.membership?.ready === true, 5000, 'enrolled')
  await first.stop()
  // The same configuration again: the one-use ticket is spent, and the node must start all the same.
  const second = await runtime('restarted-2', identity, { ticket })
  await waitFor(() => second.membership?.ready === true, 5000, 'a credential after the restart')
  assert.deepEqual(second.membership?.credentials.attributes, { restarted: 'yes' })
})

test('the authority signs a credential only for the identity on the channel it answers', async () => {
  const service = project.authority
  assert.ok(service !== undefined)
  const member = newIdentity()
  await adminClient.addMember(member.identifier, { x: '1' })
  // The channel the request came by now belongs to someone else (or to no one): no credential.
  const msg = { onward: [], return: [], payload: new Uint8Array(0), secureChannel: { identifier: member.identifier, channel: 'gone-channel', attributes: {}, hasCredential: false } }
  await assert.rejects(service['credential']({}, msg), /closed before the credential was issued/)
})

test('50 clients redeeming one one-use ticket at the same moment: exactly one becomes a member', async () => {
  const { ticket } = await adminClient.createTicket({ attributes: { race: 'yes' } })
  const code = decodeTicket(ticket).code
  const clients = await Promise.all(Array.from({ length: 50 }, () => clientAs(newIdentity())))
  const results = await Promise.allSettled(clients.map((c) => c.enroll(code)))
  const won = results.filter((r) => r.status === 'fulfilled')
  assert.equal(won.length, 1)
  for (const r of results) if (r.status === 'rejected') assert.match(String(r.reason), /already been used/)
  const members = (await adminClient.listMembers()).filter((m) => m.attributes.race === 'yes')
  assert.equal(members.length, 1)
})

test('credentials are refreshed at half-life without interrupting an open channel', async () => {
  const server = await enrolledNode('refresh-server', {})
  const client = await enrolledNode('refresh-client', {})
  const route = await client.node.resolve(routeTo(server.node, '/secure/api'))
  const first = client.membership?.credentials.expiresAt ?? 0
  // TTL is 4 s: by 5 s the credential was refreshed at least twice and the first one has expired.
  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    assert.equal(str(await client.node.send([...route, local('echo')], text('still here'))), 'still here')
    await new Promise((r) => setTimeout(r, 250))
  }
  assert.ok((client.membership?.credentials.expiresAt ?? 0) > first + 1)
  assert.ok((client.membership?.credentials.refreshes ?? 0) >= 3)
  assert.equal(client.node.channels.size >= 1, true)
})

test('deleting a member closes its channels on every node within 15 s and denies it afterwards', async () => {
  const server = await enrolledNode('revoke-server', {})
  const victim = await enrolledNode('victim', {})
  const route = await victim.node.resolve(routeTo(server.node, '/secure/api'))
  assert.equal(str(await victim.node.send([...route, local('echo')], text('x'))), 'x')
  const started = Date.now()
  await adminClient.deleteMember(victim.node.identifier)
  // With this file's 4 s credentials the victim's channel may also close when its credential runs
  // out, before the server's next revocation poll: what must hold within 15 s is both.
  await waitFor(() => server.node.revoked.has(victim.node.identifier) && ![...server.node.channels.values()].some((c) => c.peer.identifier === victim.node.identifier), 15_000, 'revocation on the server node')
  const elapsed = Date.now() - started
  assert.ok(elapsed < 15_000, `took ${elapsed} ms`)
  await assert.rejects(victim.node.resolve(routeTo(server.node, '/secure/api')), /revoked/)
  // The project node itself cut the victim off at once.
  assert.ok(project.node.revoked.has(victim.node.identifier))
  // Re-adding the identity lifts the revocation at the next poll.
  await adminClient.addMember(victim.node.identifier, {})
  await waitFor(() => !server.node.revoked.has(victim.node.identifier), 15_000, 'revocation lifted')
})

test('project status, for admins only: members counted, the replica, relays, who holds channels, each member\'s last credential here', async () => {
  const rt = await enrolledNode('status-device', { site: 's' })
  const member = authorityClientFor(rt.node, rt.project ?? assert.fail())
  await assert.rejects(member.status(), (e: unknown) => e instanceof RemoteError && e.code === 'forbidden')
  const s = await adminClient.status()
  assert.equal(s.project, 'default')
  assert.equal(s.members, (await adminClient.listMembers()).length)
  assert.deepEqual(s.replicas, [s.route])
  assert.ok((s.channels[rt.node.identifier] ?? 0) >= 1, 'the device holds a channel to the project node')
  const c = s.credentials[rt.node.identifier]
  assert.ok(c !== undefined && c.expiresAt > c.issuedAt && c.expiresAt - c.issuedAt <= 4)
  assert.equal(s.credentials[newIdentity().identifier], undefined)
})
