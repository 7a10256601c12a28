/**
 * Versioned schema changes, applied in order inside one transaction each and recorded in
 * `portico_schema`. A migration is never edited once released: add a new one.
 * The SQL is written once in the subset SQLite and PostgreSQL share.
 */
export interface Migration {
  version: number
  name: string
  statements: string[]
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'authority and policies',
    statements: [
      `CREATE TABLE members (
        identifier TEXT PRIMARY KEY,
        attributes TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('member', 'enroller', 'admin')),
        added_at BIGINT NOT NULL,
        added_by TEXT
      )`,
      `CREATE TABLE tickets (
        code_hash TEXT PRIMARY KEY,
        attributes TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('member', 'enroller', 'admin')),
        uses_left INTEGER NOT NULL CHECK (uses_left >= 0),
        expires_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL
      )`,
      `CREATE TABLE revocations (
        identifier TEXT PRIMARY KEY,
        revoked_at BIGINT NOT NULL
      )`,
      `CREATE INDEX revocations_revoked_at ON revocations (revoked_at)`,
      `CREATE TABLE policies (
        resource TEXT PRIMARY KEY,
        expression TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      )`
    ]
  },
  {
    version: 2,
    name: 'influxdb leases',
    statements: [
      `CREATE TABLE leases (
        id TEXT PRIMARY KEY,
        identifier TEXT NOT NULL,
        outlet TEXT NOT NULL,
        backend TEXT NOT NULL,
        backend_id TEXT NOT NULL,
        permissions TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT,
        revoke_attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL DEFAULT 0,
        last_error TEXT
      )`,
      `CREATE INDEX leases_due ON leases (expires_at) WHERE revoked_at IS NULL`,
      `CREATE INDEX leases_identifier ON leases (identifier)`
    ]
  },
  {
    version: 3,
    name: 'leases by outlet',
    // Every lease query names its outlet: counting the active leases of an outlet (at each issue)
    // and finding the due ones (at each sweep) then read the index alone, never the table.
    statements: [
      `CREATE INDEX leases_active_by_outlet ON leases (outlet, expires_at) WHERE revoked_at IS NULL`,
      `CREATE INDEX leases_active_by_holder ON leases (outlet, identifier) WHERE revoked_at IS NULL`,
      `DROP INDEX leases_due`,
      `DROP INDEX leases_identifier`
    ]
  },
  {
    version: 4,
    name: 'enroller scopes and revocation reasons',
    // An enroller's scope (the attributes its tickets may grant, JSON list of patterns; NULL: the
    // default scope) travels from its ticket to its member record; a lease keeps why it was revoked.
    statements: [
      `ALTER TABLE members ADD COLUMN may_grant TEXT`,
      `ALTER TABLE tickets ADD COLUMN may_grant TEXT`,
      `ALTER TABLE leases ADD COLUMN revoke_reason TEXT`
    ]
  },
  {
    version: 5,
    name: 'project replicas',
    // The project a store serves (one row: replicas started on a store of another project refuse
    // it), and the routes of the project nodes in front of it, each kept fresh by its own node.
    statements: [
      `CREATE TABLE project (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        authority TEXT NOT NULL,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE project_replicas (
        route TEXT PRIMARY KEY,
        started_at BIGINT NOT NULL,
        seen_at BIGINT NOT NULL
      )`
    ]
  }
]

export const SCHEMA_TABLE = `CREATE TABLE IF NOT EXISTS portico_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`
