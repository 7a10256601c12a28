import type { Logger } from 'pino'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Store } from '../store/store.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'

/**
 * How often a replica tells the store it serves, reads the other replicas' routes, and picks up
 * revocations made at another replica: a member deleted anywhere loses its channels here within
 * this bound (plus the time its handshake takes to fail), well inside the 15 s promise.
 */
export const REPLICA_SYNC_MS = 5000
/**
 * A replica not seen for this long is left out of new tickets and project files: they name the
 * replicas that serve now (one that comes back is listed again at its next sync).
 */
export const REPLICA_LISTED_SECONDS = 6 * REPLICA_SYNC_MS / 1000

export class ProjectStoreError extends PorticoError {
  override readonly code: string = 'project-store'
  override readonly kind: ErrorKind = 'conflict'
  override name = 'ProjectStoreError'
}

export interface ProjectReplicasOptions {
  store: Store
  /** This replica's route, as members reach it. */
  route: string
  log: Logger
  now: () => number
  /** Told when the set of replicas changes (this one always among them). */
  onRoutes: (routes: readonly string[]) => void
  /** The identities revoked now (from any replica); `isMember` tells a revoked identity that was added again. */
  revoked: Set<string>
  revoke: (identifier: string) => void
  unrevoke: (identifier: string) => void
}

/**
 * One project node among the replicas sharing a PostgreSQL store. They never talk to each other:
 * each keeps its row in the store fresh and reads the others' (routes, revocations) from it.
 */
export class ProjectReplicas {
  private current: readonly string[] = []
  /** The revocations the store held at the last look. */
  private listed = new Set<string>()

  private constructor(private readonly o: ProjectReplicasOptions) {}

  /** Binds the store to the project (or checks it serves it), records this replica and reads the others. */
  static async start(o: ProjectReplicasOptions, project: { name: string; authority: string; replica: boolean }, signal: AbortSignal): Promise<ProjectReplicas> {
    const served = await o.store.project.get()
    if (project.replica && served === undefined) {
      throw new ProjectStoreError('the store serves no project yet: start the first project node on it with `authority create`, then its replicas')
    }
    const bound = served ?? await o.store.project.claim({ name: project.name, authority: project.authority, createdAt: o.now() })
    if (bound.name !== project.name || bound.authority !== project.authority) {
      throw new ProjectStoreError(`the store serves project ${bound.name} (authority ${bound.authority}), not ${project.name} (authority ${project.authority})`)
    }
    await o.store.project.seen(o.route, o.now(), true)
    const r = new ProjectReplicas(o)
    await r.sync()
    void r.loop(signal)
    return r
  }

  get routes(): readonly string[] {
    return this.current
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await sleep(REPLICA_SYNC_MS, undefined, { signal })
      } catch {
        return
      }
      try {
        await this.o.store.project.seen(this.o.route, this.o.now(), false)
        await this.sync()
      } catch (err) {
        // The store is away: this replica goes on with what it knew, and asks again next time.
        this.o.log.warn({ err: (err as Error).message }, 'could not sync with the other replicas through the store')
      }
    }
  }

  private async sync(): Promise<void> {
    const routes = (await this.o.store.project.replicas(this.o.now() - REPLICA_LISTED_SECONDS)).map((r) => r.route)
    if (!routes.includes(this.o.route)) routes.push(this.o.route)
    if (routes.join('\n') !== this.current.join('\n')) {
      this.current = routes
      this.o.onRoutes(routes)
    }
    const listed = new Set((await this.o.store.revocations.list()).map((r) => r.identifier))
    for (const id of listed) {
      if (this.o.revoked.has(id)) continue
      this.o.log.info({ member: id }, 'member revoked at another replica: its channels here close')
      this.o.revoke(id)
    }
    // Only what left the list since the last look is asked about (a member added again, or an old
    // revocation pruned), so the cost follows the changes, not every revocation this node holds.
    for (const id of this.listed) {
      if (!listed.has(id) && this.o.revoked.has(id) && await this.o.store.members.get(id) !== undefined) this.o.unrevoke(id)
    }
    this.listed = listed
  }
}
