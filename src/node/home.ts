import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import type { Crypto } from '../crypto/crypto.js'
import { importIdentityHex } from '../identity/identity.js'
import { LocalIdentity } from '../identity/local-identity.js'
import { FileVault } from '../identity/vault.js'
import { projectFromFile, projectToFile, type Project } from '../authority/project.js'
import { NAME_PATTERN } from '../encoding/names.js'
import { fromHex, toHex } from '../encoding/hex.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'

const NAME_RE = NAME_PATTERN

export class HomeError extends PorticoError {
  override readonly code: string = 'home'
  override readonly kind: ErrorKind = 'not-found'
  override name = 'HomeError'
}

const IdentityRecord = z.object({ name: z.string(), identifier: z.string(), changeHistory: z.string(), createdAt: z.string() })
export type IdentityRecord = z.infer<typeof IdentityRecord>
/** An identity exported with its primary secret key (`identity export --with-secret`). */
export const IdentityWithSecret = z.object({ identifier: z.string().max(80), changeHistory: z.string().regex(/^[0-9a-f]+$/).max(65_536), primarySecretKey: z.string().regex(/^[0-9a-f]{64}$/) }).strict()
export type IdentityWithSecret = z.infer<typeof IdentityWithSecret>

const NodeRecord = z.object({
  name: z.string(), identity: z.string(), identifier: z.string(), pid: z.number(),
  tcpListenerAddress: z.string().optional(), httpServerAddress: z.string().optional(), project: z.string().optional(),
  authority: z.boolean().optional(), startedAt: z.string()
})
export type NodeRecord = z.infer<typeof NodeRecord>

function checkName(kind: string, name: string): string {
  if (!NAME_RE.test(name)) throw new HomeError(`${kind} name '${name}' must be 1-64 letters, digits, '.', '_' or '-'`)
  return name
}

function writeJson(path: string, value: unknown, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode })
  renameSync(tmp, path)
}

/** `$PORTICO_HOME` (default `~/.portico`): identities, the vault, node state and logs. */
export class Home {
  readonly root: string
  readonly vault: FileVault

  constructor(root = process.env.PORTICO_HOME ?? join(homedir(), '.portico')) {
    this.root = root
    mkdirSync(join(root, 'identities'), { recursive: true, mode: 0o700 })
    mkdirSync(join(root, 'nodes'), { recursive: true, mode: 0o700 })
    mkdirSync(join(root, 'projects'), { recursive: true, mode: 0o700 })
    this.vault = new FileVault(join(root, 'vault.json'))
  }

  // Identities ---------------------------------------------------------------------------------

  createIdentity(crypto: Crypto, name: string): IdentityRecord {
    checkName('identity', name)
    if (existsSync(this.identityPath(name))) throw new HomeError(`identity '${name}' already exists`)
    const local = LocalIdentity.create(crypto, this.vault)
    const record = { name, identifier: local.identifier, changeHistory: local.identity.exportHex(), createdAt: new Date().toISOString() }
    writeJson(this.identityPath(name), record)
    if (this.defaultIdentityName() === undefined) this.setDefaultIdentity(name)
    return record
  }

  /**
   * The identity with its primary secret key, to run it on another machine (a replica of a
   * project node). Whoever holds this can act as the identity: it goes to a file of mode 0600.
   */
  exportIdentityWithSecret(crypto: Crypto, name: string): IdentityWithSecret {
    const r = this.identityRecord(name)
    const id = importIdentityHex(crypto, r.changeHistory)
    const entry = this.vault.get(toHex(id.primaryPublicKey))
    if (entry?.type !== 'ed25519') throw new HomeError(`the vault holds no primary key for identity '${name}'`)
    return { identifier: r.identifier, changeHistory: r.changeHistory, primarySecretKey: toHex(entry.secret) }
  }

  /** Takes an identity exported with its secret: checks the history and that the key is its primary, then keeps both. */
  importIdentityWithSecret(crypto: Crypto, name: string, value: unknown): IdentityRecord {
    checkName('identity', name)
    if (existsSync(this.identityPath(name))) throw new HomeError(`identity '${name}' already exists`)
    const f = IdentityWithSecret.parse(value)
    const id = importIdentityHex(crypto, f.changeHistory)
    if (id.identifier !== f.identifier) throw new HomeError(`the change history is of ${id.identifier}, not ${f.identifier}`)
    const key = crypto.ed25519FromSecret(fromHex(f.primarySecretKey))
    if (toHex(key.publicKey) !== toHex(id.primaryPublicKey)) throw new HomeError(`the secret key is not the primary key of ${id.identifier}`)
    this.vault.put(toHex(key.publicKey), 'ed25519', key.secretKey)
    const record = { name, identifier: id.identifier, changeHistory: f.changeHistory, createdAt: new Date().toISOString() }
    writeJson(this.identityPath(name), record)
    return record
  }

  /** The local identity with this identifier, if this home holds it. */
  identityByIdentifier(identifier: string): IdentityRecord | undefined {
    return this.listIdentities().find((r) => r.identifier === identifier)
  }

  identityRecord(name: string): IdentityRecord {
    const path = this.identityPath(checkName('identity', name))
    if (!existsSync(path)) throw new HomeError(`no identity named '${name}'`)
    return IdentityRecord.parse(JSON.parse(readFileSync(path, 'utf8')))
  }

  listIdentities(): IdentityRecord[] {
    return readdirSync(join(this.root, 'identities')).filter((f) => f.endsWith('.json'))
      .map((f) => this.identityRecord(f.slice(0, -5)))
  }

  defaultIdentityName(): string | undefined {
    const p = join(this.root, 'default-identity')
    return existsSync(p) ? readFileSync(p, 'utf8').trim() : undefined
  }

  setDefaultIdentity(name: string): void {
    writeFileSync(join(this.root, 'default-identity'), name + '\n', { mode: 0o600 })
  }

  /** The named identity, or the default one (created as `default` on first use). */
  loadIdentity(crypto: Crypto, name?: string): LocalIdentity {
    const chosen = name ?? this.defaultIdentityName() ?? this.createIdentity(crypto, 'default').name
    const record = this.identityRecord(chosen)
    return LocalIdentity.load(crypto, this.vault, importIdentityHex(crypto, record.changeHistory))
  }

  // Nodes ---------------------------------------------------------------------------------------

  nodeDir(name: string): string {
    return join(this.root, 'nodes', checkName('node', name))
  }

  apiSocket(name: string): string {
    return join(this.nodeDir(name), 'api.sock')
  }

  logFile(name: string): string {
    return join(this.nodeDir(name), 'node.log')
  }

  writeNode(record: NodeRecord): void {
    mkdirSync(this.nodeDir(record.name), { recursive: true, mode: 0o700 })
    writeJson(join(this.nodeDir(record.name), 'node.json'), record)
  }

  nodeRecord(name: string): NodeRecord | undefined {
    const p = join(this.nodeDir(name), 'node.json')
    return existsSync(p) ? NodeRecord.parse(JSON.parse(readFileSync(p, 'utf8'))) : undefined
  }

  listNodes(): string[] {
    return readdirSync(join(this.root, 'nodes'))
  }

  deleteNode(name: string): void {
    rmSync(this.nodeDir(name), { recursive: true, force: true })
  }

  // Projects ------------------------------------------------------------------------------------

  /** `/node/NAME`: the TCP listener of a node recorded in this home. */
  nodeAddress(name: string): string {
    const record = this.nodeRecord(name)
    if (record?.tcpListenerAddress === undefined) throw new HomeError(`node '${name}' has no TCP listener on record`)
    return record.tcpListenerAddress
  }

  saveProject(project: Project, makeDefault = false): void {
    writeJson(join(this.root, 'projects', `${checkName('project', project.name)}.json`), projectToFile(project))
    if (makeDefault || this.defaultProjectName() === undefined) writeFileSync(join(this.root, 'default-project'), project.name + '\n', { mode: 0o600 })
  }

  defaultProjectName(): string | undefined {
    const p = join(this.root, 'default-project')
    return existsSync(p) ? readFileSync(p, 'utf8').trim() : undefined
  }

  /** The named project, or the default one; undefined when this home belongs to none. */
  project(crypto: Crypto, name?: string): Project | undefined {
    const chosen = name ?? this.defaultProjectName()
    if (chosen === undefined) return undefined
    const path = join(this.root, 'projects', `${checkName('project', chosen)}.json`)
    if (!existsSync(path)) {
      if (name !== undefined) throw new HomeError(`no project named '${name}' (import it or enroll with a ticket)`)
      return undefined
    }
    return projectFromFile(crypto, JSON.parse(readFileSync(path, 'utf8')))
  }

  /**
   * Records that `identifier` redeemed this ticket in `project`, so a node restarted with it does
   * not redeem it again, while a new ticket for the same identity is redeemed (by a digest: the
   * ticket itself is a secret and is not kept).
   */
  markEnrolled(project: string, identifier: string, ticketCode: Uint8Array): void {
    const path = join(this.root, 'projects', 'enrolled.json')
    const all = this.enrollments()
    writeJson(path, [...new Set([...all, redemption(project, identifier, ticketCode)])])
  }

  /** Whether this ticket was redeemed here by `identifier`. Homes from before tickets were told apart recorded only the identity: that covers its tickets then. */
  isEnrolled(project: string, identifier: string, ticketCode: Uint8Array): boolean {
    const all = this.enrollments()
    return all.includes(redemption(project, identifier, ticketCode)) || all.includes(`${project}/${identifier}`)
  }

  private enrollments(): string[] {
    const path = join(this.root, 'projects', 'enrolled.json')
    return existsSync(path) ? z.array(z.string()).parse(JSON.parse(readFileSync(path, 'utf8'))) : []
  }

  storePath(node: string): string {
    return join(this.nodeDir(node), 'store.sqlite')
  }

  private identityPath(name: string): string {
    return join(this.root, 'identities', `${name}.json`)
  }
}

function redemption(project: string, identifier: string, ticketCode: Uint8Array): string {
  return `${project}/${identifier}/${createHash('sha256').update(ticketCode).digest('hex').slice(0, 32)}`
}
