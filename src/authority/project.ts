import { z } from 'zod'
import type { Crypto } from '../crypto/crypto.js'
import { importIdentity, type Identity } from '../identity/identity.js'
import { toHex, fromHex } from '../encoding/hex.js'
import { NAME_PATTERN } from '../encoding/names.js'
import { MAX_REPLICAS } from './ticket.js'

/** What a node needs to belong to a project: whom to trust as authority, and where it is. */
export interface Project {
  name: string
  authority: Identity
  /** Multiaddr of the project node's TCP listener, e.g. `/ip4/10.0.0.5/tcp/4000`. */
  route: string
  /** The routes of every replica of a highly available project, `route` among them. */
  replicas?: readonly string[]
}

/** Where the project can be reached: every replica, or its one node. */
export function projectRoutes(p: Project): readonly string[] {
  return p.replicas !== undefined && p.replicas.length > 0 ? p.replicas : [p.route]
}

export const ProjectFile = z.object({
  name: z.string().regex(NAME_PATTERN),
  authorityIdentifier: z.string(),
  authorityChangeHistory: z.string().regex(/^[0-9a-f]+$/),
  route: z.string().max(1024),
  replicas: z.array(z.string().max(1024)).min(1).max(MAX_REPLICAS).optional()
}).strict()
export type ProjectFile = z.infer<typeof ProjectFile>

export function projectToFile(p: Project): ProjectFile {
  return {
    name: p.name, authorityIdentifier: p.authority.identifier, authorityChangeHistory: toHex(p.authority.export()), route: p.route,
    ...(p.replicas !== undefined && p.replicas.length > 1 ? { replicas: [...p.replicas] } : {})
  }
}

/** Verifies the authority's change history and that it matches the identifier on file. */
export function projectFromFile(crypto: Crypto, value: unknown): Project {
  const f = ProjectFile.parse(value)
  const authority = importIdentity(crypto, fromHex(f.authorityChangeHistory))
  if (authority.identifier !== f.authorityIdentifier) throw new Error(`project ${f.name}: the authority history is for ${authority.identifier}, not ${f.authorityIdentifier}`)
  return { name: f.name, authority, route: f.route, ...(f.replicas !== undefined ? { replicas: f.replicas.includes(f.route) ? f.replicas : [f.route, ...f.replicas] } : {}) }
}
