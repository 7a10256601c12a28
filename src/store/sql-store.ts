import type { Attributes } from '../identity/credential.js'
import { MIGRATIONS, SCHEMA_TABLE, type Migration } from './migrations.js'
import type { Row, SqlDb, SqlExecutor } from './sql-db.js'
import { projectRepository } from './sql-project.js'
import {
  ROLES, StoreError, TicketRejectedError, type MemberRecord, type MemberRepository, type PolicyRecord, type PolicyRepository,
  type LeaseRecord, type LeaseRepository, type ProjectRepository, type RevocationRecord, type RevocationRepository, type Role, type Store, type TicketRecord, type TicketRepository
} from './store.js'

export const MAX_LIST_LIMIT = 100_000
const MIGRATION_LOCK_ID = 0x706f7274 // 'port'
const ROLE_RANK: Record<Role, number> = { member: 0, enroller: 1, admin: 2 }

/** The repositories over SQLite or PostgreSQL: one SQL text, one behaviour, one test suite. */
export class SqlStore implements Store {
  readonly members: MemberRepository
  readonly tickets: TicketRepository
  readonly policies: PolicyRepository
  readonly revocations: RevocationRepository
  readonly leases: LeaseRepository
  readonly project: ProjectRepository

  private constructor(private readonly db: SqlDb) {
    this.project = projectRepository(db)
    this.leases = leaseRepository(db)
    this.members = memberRepository(db)
    this.tickets = ticketRepository(db)
    this.policies = policyRepository(db)
    this.revocations = revocationRepository(db)
  }

  static async open(db: SqlDb, migrations: readonly Migration[] = MIGRATIONS): Promise<SqlStore> {
    try {
      await migrate(db, migrations)
    } catch (err) {
      await db.close()
      if (err instanceof StoreError) throw err
      throw new StoreError(`cannot migrate the ${db.dialect} store: ${(err as Error).message}`, { cause: err })
    }
    return new SqlStore(db)
  }

  get kind(): 'sqlite' | 'postgres' {
    return this.db.dialect
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.db.all('SELECT max(version) AS v FROM portico_schema')
    return Number(rows[0]?.v ?? 0)
  }

  sizeBytes(): Promise<number> {
    return this.db.sizeBytes()
  }

  close(): Promise<void> {
    return this.db.close()
  }
}

async function migrate(db: SqlDb, migrations: readonly Migration[]): Promise<void> {
  // Replicas started together on a new PostgreSQL database would race even on CREATE … IF NOT EXISTS.
  await db.transaction(async (tx) => {
    if (db.dialect === 'postgres') await tx.all('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK_ID])
    await tx.run(SCHEMA_TABLE)
  })
  const known = Math.max(0, ...migrations.map((m) => m.version))
  for (const m of migrations) {
    await db.transaction(async (tx) => {
      // Two nodes starting on one PostgreSQL database must not both apply a migration.
      if (db.dialect === 'postgres') await tx.all('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK_ID])
      const applied = Number((await tx.all('SELECT max(version) AS v FROM portico_schema'))[0]?.v ?? 0)
      if (applied > known) throw new StoreError(`the store has schema version ${applied}, newer than this Portico knows (${known}); upgrade Portico`)
      if (applied >= m.version) return
      for (const statement of m.statements) await tx.run(statement)
      await tx.run('INSERT INTO portico_schema (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, Math.floor(Date.now() / 1000)])
    })
  }
}

function parseAttributes(text: unknown): Attributes {
  const value = JSON.parse(String(text)) as unknown
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new StoreError('corrupt store: attributes are not a string map')
  }
  return value as Attributes
}

function parseRole(value: unknown): Role {
  if (!ROLES.includes(value as Role)) throw new StoreError(`corrupt store: unknown role ${String(value)}`)
  return value as Role
}

const text = (v: unknown): string => typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? v.toString() : JSON.stringify(v)

function parseScope(value: unknown): string[] | undefined {
  if (value === null || value === undefined) return undefined
  const parsed = JSON.parse(text(value)) as unknown
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new StoreError('corrupt store: an enroller scope is not a list of patterns')
  return parsed
}

function toMember(r: Row): MemberRecord {
  const mayGrant = parseScope(r.may_grant)
  return {
    identifier: String(r.identifier), attributes: parseAttributes(r.attributes), role: parseRole(r.role),
    addedAt: Number(r.added_at), addedBy: r.added_by === null ? null : text(r.added_by), ...(mayGrant !== undefined ? { mayGrant } : {})
  }
}

const UPSERT_MEMBER = `INSERT INTO members (identifier, attributes, role, added_at, added_by, may_grant) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (identifier) DO UPDATE SET attributes = excluded.attributes, role = excluded.role, added_at = excluded.added_at, added_by = excluded.added_by, may_grant = excluded.may_grant`

async function putMember(tx: SqlExecutor, m: MemberRecord): Promise<void> {
  await tx.run(UPSERT_MEMBER, [m.identifier, JSON.stringify(m.attributes), m.role, m.addedAt, m.addedBy, m.mayGrant === undefined ? null : JSON.stringify(m.mayGrant)])
  await tx.run('DELETE FROM revocations WHERE identifier = ?', [m.identifier])
}

function memberRepository(db: SqlDb): MemberRepository {
  return {
    put: (m) => db.transaction((tx) => putMember(tx, m)),
    async get(identifier) {
      const rows = await db.all('SELECT * FROM members WHERE identifier = ?', [identifier])
      return rows[0] === undefined ? undefined : toMember(rows[0])
    },
    async list(options = {}) {
      const limit = Math.min(options.limit ?? MAX_LIST_LIMIT, MAX_LIST_LIMIT)
      const rows = await db.all('SELECT * FROM members WHERE identifier > ? ORDER BY identifier LIMIT ?', [options.after ?? '', limit])
      return rows.map(toMember)
    },
    async count() {
      return Number((await db.all('SELECT count(*) AS n FROM members'))[0]?.n ?? 0)
    },
    delete: (identifier, now) => db.transaction(async (tx) => {
      const removed = await tx.run('DELETE FROM members WHERE identifier = ?', [identifier])
      if (removed === 0) return false
      await tx.run(`INSERT INTO revocations (identifier, revoked_at) VALUES (?, ?)
        ON CONFLICT (identifier) DO UPDATE SET revoked_at = excluded.revoked_at`, [identifier, now])
      return true
    })
  }
}

function ticketRepository(db: SqlDb): TicketRepository {
  return {
    async create(t: TicketRecord) {
      await db.run('INSERT INTO tickets (code_hash, attributes, role, uses_left, expires_at, created_at, created_by, may_grant) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [t.codeHash, JSON.stringify(t.attributes), t.role, t.usesLeft, t.expiresAt, t.createdAt, t.createdBy, t.mayGrant === undefined ? null : JSON.stringify(t.mayGrant)])
    },
    redeem: (codeHash, identifier, now) => db.transaction(async (tx) => {
      // One conditional UPDATE is the whole race: the row lock admits exactly one use per remaining count.
      const used = await tx.all(`UPDATE tickets SET uses_left = uses_left - 1
        WHERE code_hash = ? AND uses_left > 0 AND expires_at > ? RETURNING attributes, role, created_by, may_grant`, [codeHash, now])
      const ticket = used[0]
      if (ticket === undefined) {
        const found = (await tx.all('SELECT uses_left, expires_at FROM tickets WHERE code_hash = ?', [codeHash]))[0]
        if (found === undefined) throw new TicketRejectedError('the ticket is not known to this authority')
        if (Number(found.expires_at) <= now) throw new TicketRejectedError('the ticket has expired')
        throw new TicketRejectedError('the ticket has already been used')
      }
      const existing = (await tx.all('SELECT * FROM members WHERE identifier = ?', [identifier]))[0]
      const before = existing === undefined ? undefined : toMember(existing)
      const role = parseRole(ticket.role)
      // A ticket never lowers a member's role; an enroller ticket brings its scope.
      const kept = before !== undefined && ROLE_RANK[before.role] > ROLE_RANK[role]
      const mayGrant = !kept && role === 'enroller' ? parseScope(ticket.may_grant) : before?.mayGrant
      const member: MemberRecord = {
        identifier,
        attributes: { ...before?.attributes, ...parseAttributes(ticket.attributes) },
        role: kept ? before.role : role,
        addedAt: now, addedBy: String(ticket.created_by), ...(mayGrant !== undefined ? { mayGrant } : {})
      }
      await putMember(tx, member)
      return member
    }),
    prune: (now) => db.run('DELETE FROM tickets WHERE expires_at <= ? OR uses_left = 0', [now]),
    async outstanding(now, limit, createdBy) {
      const rows = await db.all(`SELECT * FROM tickets WHERE uses_left > 0 AND expires_at > ?${createdBy !== undefined ? ' AND created_by = ?' : ''} ORDER BY created_at, code_hash LIMIT ?`,
        createdBy !== undefined ? [now, createdBy, limit] : [now, limit])
      return rows.map((r) => ({
        codeHash: String(r.code_hash), attributes: parseAttributes(r.attributes), role: parseRole(r.role), usesLeft: Number(r.uses_left), expiresAt: Number(r.expires_at),
        createdAt: Number(r.created_at), createdBy: String(r.created_by), ...(r.may_grant !== null && r.may_grant !== undefined ? { mayGrant: parseScope(r.may_grant) ?? [] } : {})
      }))
    },
    async revoke(idPrefix, createdBy) {
      // The id is a prefix of a hash: only hex reaches the LIKE pattern.
      if (!/^[0-9a-f]{16,64}$/.test(idPrefix)) return false
      return await db.run(`DELETE FROM tickets WHERE code_hash LIKE ?${createdBy !== undefined ? ' AND created_by = ?' : ''}`, createdBy !== undefined ? [`${idPrefix}%`, createdBy] : [`${idPrefix}%`]) > 0
    }
  }
}

function policyRepository(db: SqlDb): PolicyRepository {
  const toPolicy = (r: Row): PolicyRecord => ({ resource: String(r.resource), expression: String(r.expression), updatedAt: Number(r.updated_at) })
  return {
    async set(p) {
      await db.run(`INSERT INTO policies (resource, expression, updated_at) VALUES (?, ?, ?)
        ON CONFLICT (resource) DO UPDATE SET expression = excluded.expression, updated_at = excluded.updated_at`, [p.resource, p.expression, p.updatedAt])
    },
    async get(resource) {
      const r = (await db.all('SELECT * FROM policies WHERE resource = ?', [resource]))[0]
      return r === undefined ? undefined : toPolicy(r)
    },
    async list() {
      return (await db.all('SELECT * FROM policies ORDER BY resource')).map(toPolicy)
    },
    async delete(resource) {
      return (await db.run('DELETE FROM policies WHERE resource = ?', [resource])) > 0
    }
  }
}

function revocationRepository(db: SqlDb): RevocationRepository {
  return {
    async list(since = 0) {
      const rows = await db.all('SELECT * FROM revocations WHERE revoked_at >= ? ORDER BY identifier', [since])
      return rows.map((r): RevocationRecord => ({ identifier: String(r.identifier), revokedAt: Number(r.revoked_at) }))
    },
    prune: (before) => db.run('DELETE FROM revocations WHERE revoked_at < ?', [before])
  }
}

function toLease(r: Row): LeaseRecord {
  return {
    id: text(r.id), identifier: text(r.identifier), outlet: text(r.outlet), backend: text(r.backend) as LeaseRecord['backend'],
    backendId: text(r.backend_id), permissions: text(r.permissions), createdAt: Number(r.created_at), expiresAt: Number(r.expires_at),
    revokedAt: r.revoked_at === null || r.revoked_at === undefined ? null : Number(r.revoked_at), revokeAttempts: Number(r.revoke_attempts),
    nextAttemptAt: Number(r.next_attempt_at), lastError: r.last_error === null || r.last_error === undefined ? null : text(r.last_error),
    ...(r.revoke_reason === null || r.revoke_reason === undefined ? {} : { revokeReason: text(r.revoke_reason) })
  }
}

function leaseRepository(db: SqlDb): LeaseRepository {
  return {
    async insert(l) {
      await db.run(`INSERT INTO leases (id, identifier, outlet, backend, backend_id, permissions, created_at, expires_at, revoked_at, revoke_attempts, next_attempt_at, last_error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [l.id, l.identifier, l.outlet, l.backend, l.backendId, l.permissions, l.createdAt, l.expiresAt, l.revokedAt, l.revokeAttempts, l.nextAttemptAt, l.lastError])
    },
    async get(id) {
      const r = (await db.all('SELECT * FROM leases WHERE id = ?', [id]))[0]
      return r === undefined ? undefined : toLease(r)
    },
    async active(outlet, identifier) {
      const rows = identifier === undefined
        ? await db.all('SELECT * FROM leases WHERE revoked_at IS NULL AND outlet = ? ORDER BY created_at', [outlet])
        : await db.all('SELECT * FROM leases WHERE revoked_at IS NULL AND outlet = ? AND identifier = ? ORDER BY created_at', [outlet, identifier])
      return rows.map(toLease)
    },
    async countActive(outlet, identifier) {
      const rows = identifier === undefined
        ? await db.all('SELECT count(*) AS n FROM leases WHERE revoked_at IS NULL AND outlet = ?', [outlet])
        : await db.all('SELECT count(*) AS n FROM leases WHERE revoked_at IS NULL AND outlet = ? AND identifier = ?', [outlet, identifier])
      return Number(rows[0]?.n ?? 0)
    },
    async due(outlet, now, limit) {
      return (await db.all('SELECT * FROM leases WHERE revoked_at IS NULL AND outlet = ? AND expires_at <= ? AND next_attempt_at <= ? ORDER BY expires_at LIMIT ?', [outlet, now, now, limit])).map(toLease)
    },
    async claimDue(outlet, now, limit, holdUntil) {
      // PostgreSQL: rows another sweeper is taking right now are skipped, not waited for. SQLite has one writer.
      const lock = db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''
      const rows = await db.all(`UPDATE leases SET next_attempt_at = ? WHERE id IN (
          SELECT id FROM leases WHERE revoked_at IS NULL AND outlet = ? AND expires_at <= ? AND next_attempt_at <= ? ORDER BY expires_at LIMIT ?${lock}
        ) RETURNING *`, [holdUntil, outlet, now, now, limit])
      return rows.map(toLease).sort((a, b) => a.expiresAt - b.expiresAt)
    },
    async markRevoked(id, now) {
      await db.run('UPDATE leases SET revoked_at = ?, last_error = NULL WHERE id = ?', [now, id])
    },
    async markFailed(id, error, nextAttemptAt) {
      await db.run('UPDATE leases SET revoke_attempts = revoke_attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?', [error.slice(0, 1000), nextAttemptAt, id])
    },
    expireLease: async (id, now, reason, holdUntil) => await db.run('UPDATE leases SET expires_at = ?, next_attempt_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL AND expires_at > ?', [now, holdUntil, reason, id, now]) === 1,
    expireIdentity: (outlet, identifier, now, reason) => db.run('UPDATE leases SET expires_at = ?, next_attempt_at = 0, revoke_reason = ? WHERE outlet = ? AND identifier = ? AND revoked_at IS NULL AND expires_at > ?', [now, reason, outlet, identifier, now]),
    expireOutlet: (outlet, now, reason) => db.run('UPDATE leases SET expires_at = ?, next_attempt_at = 0, revoke_reason = ? WHERE outlet = ? AND revoked_at IS NULL AND expires_at > ?', [now, reason, outlet, now])
  }
}
