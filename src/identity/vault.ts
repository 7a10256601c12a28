import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { z } from 'zod'
import { fromHex, toHex } from '../encoding/hex.js'

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

export class VaultError extends Error {
  override name = 'VaultError'
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
    const content = this.read()
    content[keyId] = { type, secret: toHex(secret) }
    this.write(content)
  }

  delete(keyId: string): void {
    const content = this.read()
    if (keyId in content) {
       
      delete content[keyId]
      this.write(content)
    }
  }
}
