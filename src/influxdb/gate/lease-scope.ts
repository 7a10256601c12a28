import type { Permission } from '../backends/backend.js'

/** Any bucket or database of the action's kind (an org-wide permission, with neither id nor name). */
const ANY = '*'

/**
 * What a lease's permissions allow, as the inlet checks it before anything reaches the database:
 * the buckets (v2, by name or id) or databases (v1, v3) it may read and write. The database
 * enforces the same grants itself; this is the second of the two checks.
 */
export class LeaseScope {
  private readonly read = new Set<string>()
  private readonly write = new Set<string>()

  constructor(permissions: readonly Permission[]) {
    for (const p of permissions) {
      if (p.resource.type !== 'buckets') continue
      const set = p.action === 'read' ? this.read : this.write
      const { id, name } = p.resource
      if (id === undefined && name === undefined) set.add(ANY)
      if (id !== undefined) set.add(id)
      if (name !== undefined) set.add(name)
    }
  }

  get canRead(): boolean {
    return this.read.size > 0
  }

  get canWrite(): boolean {
    return this.write.size > 0
  }

  mayRead(database: string): boolean {
    return this.read.has(ANY) || this.read.has(database)
  }

  mayWrite(database: string): boolean {
    return this.write.has(ANY) || this.write.has(database)
  }
}
