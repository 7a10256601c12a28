import type { Logger } from 'pino'
import type { Project } from '../authority/project.js'
import type { LeaseRepository } from '../store/store.js'
import type { PorticoNode } from './portico-node.js'
import type { ResourcePolicies } from './resource-policies.js'

export interface PortalsOptions {
  node: PorticoNode
  policies: ResourcePolicies
  log: Logger
  project: Project | undefined
  signal: AbortSignal
  leases: LeaseRepository
  /** Settles once the node holds its first project credential: inlets open their routes after it (a relay admits no one before). */
  credential?: Promise<void>
}
