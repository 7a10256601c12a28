import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import type { Project } from '../authority/project.js'
import type { LeaseRepository } from '../store/store.js'
import type { PorticoNode } from './portico-node.js'
import { PortalError } from './inlet-route.js'
import type { ResourcePolicies } from './resource-policies.js'

export interface PortalsOptions {
  node: PorticoNode
  policies: ResourcePolicies
  log: Logger
  project: Project | undefined
  signal: AbortSignal
  leases: LeaseRepository
  /**
   * The store is PostgreSQL, which outlet nodes in front of one database may share: an influxdb
   * outlet's leases are then its siblings' too (same outlet name), and orphans are judged as theirs.
   */
  sharedStore?: boolean
  /** Settles once the node holds its first project credential: inlets open their routes after it (a relay admits no one before). */
  credential?: Promise<void>
}

/** The CA certificate file an outlet's TLS trusts, read at start. */
export function readCa(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined
  try {
    return readFileSync(file)
  } catch (err) {
    throw new PortalError(`cannot read tls-ca-file ${file}: ${(err as Error).message}`)
  }
}
