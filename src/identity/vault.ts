import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync, existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { z } from 'zod'
import { fromHex, toHex } from '../encoding/hex.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'

export type SecretType = 'ed25519' | 'x25519'

/** Where a node keeps its secret keys, by key id (the hex public key). */
export interface Vault {
  get(keyId: string): { type: SecretType; secret: Uint8Array } | undefined
  put(keyId: string, type: SecretType, secret: Uint8Array): void
  delete(keyId: string): void
}

export class MemoryVault implements Vault {
  private readonly keys = new Map<string, { type: SecretType; secret: Uint8Array }>()
  get(keyId: string): { type: SecretType; secret: Uint8Array } | undefined {
    return this.keys.get(keyId)
  }
  put(keyId: string, type: SecretType, secret: Uint8Array): void {
    this.keys.set(keyId, { type, secret })
  }
  delete(keyId: string): void {
    this.keys.delete(keyId)
  }
}

const FileSchema = z.record(z.string(), z.object({ type: z.enum(['ed25519', 'x25519']), secret: z.string() }))

export class VaultError extends PorticoError {
  override readonly code: string = 'vault'
  override readonly kind: ErrorKind = 'internal'
  override name = 'VaultError'
}

/** How long a vault change waits for another process's to finish. */
export const VAULT_LOCK_WAIT_MS = 10_000
/** A lock this old whose process is gone was left by a crash, and is taken over. */
export const VAULT_LOCK_STALE_MS = 5_000
const LOCK_POLL_MS = 5

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes `path`.lock for this process, waiting while another holds it: the vault is changed by
 * reading, editing and rewriting one file, so two commands at once in one home (six `identity
 * create` in parallel) would otherwise each write back what it read and lose the other's keys.
 */
function lockFile(path: string): () => void {
  const lock = `${path}.lock`
  const deadline = Date.now() + VAULT_LOCK_WAIT_MS
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => rmSync(lock, { force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    try {
      const holder = Number(readFileSync(lock, 'utf8'))
      if (!processAlive(holder) && Date.now() - statSync(lock).mtimeMs > VAULT_LOCK_STALE_MS) rmSync(lock, { force: true })
    } catch {
      // Gone between our look and our read: try again.
    }
    if (Date.now() > deadline) throw new VaultError(`the vault ${path} is locked by another process (${lock})`)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, LOCK_POLL_MS)
  }
}

/**
 * A JSON file readable only by its owner (0600, in a 0700 folder), rewritten atomically through
 * a rename so a crash never leaves half a vault.
 */
export class FileVault implements Vault {
  constructor(readonly path: string) {}

  private read(): z.infer<typeof FileSchema> {
    if (!existsSync(this.path)) return {}
    try {
      return FileSchema.parse(JSON.parse(readFileSync(this.path, 'utf8')))
    } catch (err) {
      // The message names the file, never its content.
      throw new VaultError(`vault file ${this.path} is corrupt`, { cause: err instanceof z.ZodError ? undefined : err })
    }
  }

  private write(content: z.infer<typeof FileSchema>): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 })
    const tmp = `${this.path}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(content), { mode: 0o600 })
    chmodSync(tmp, 0o600)
    renameSync(tmp, this.path)
  }

  get(keyId: string): { type: SecretType; secret: Uint8Array } | undefined {
    const entry = this.read()[keyId]
    return entry === undefined ? undefined : { type: entry.type, secret: fromHex(entry.secret) }
  }

  put(keyId: string, type: SecretType, secret: Uint8Array): void {
    this.change((content) => {
      content[keyId] = { type, secret: toHex(secret) }
      return true
    })
  }

  delete(keyId: string): void {
    this.change((content) => {
      if (!(keyId in content)) return false
      delete content[keyId]
      return true
    })
  }

  /** Reads, edits and writes back the vault under its lock; `edit` says whether anything changed. */
  private change(edit: (content: z.infer<typeof FileSchema>) => boolean): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 })
    const unlock = lockFile(this.path)
    try {
      const content = this.read()
      if (edit(content)) this.write(content)
    } finally {
      unlock()
    }
  }
}
