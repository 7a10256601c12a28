import type { SqlDb } from './sql-db.js'
import type { ProjectRecord, ProjectRepository, ReplicaRecord } from './store.js'
import type { Row } from './sql-db.js'

const toProject = (r: Row): ProjectRecord => ({ name: String(r.name), authority: String(r.authority), createdAt: Number(r.created_at) })
const toReplica = (r: Row): ReplicaRecord => ({ route: String(r.route), startedAt: Number(r.started_at), seenAt: Number(r.seen_at) })

/** The project row and its replicas, over SQLite or PostgreSQL. */
export function projectRepository(db: SqlDb): ProjectRepository {
  const get = async (): Promise<ProjectRecord | undefined> => {
    const rows = await db.all('SELECT * FROM project WHERE id = 1')
    return rows[0] === undefined ? undefined : toProject(rows[0])
  }
  return {
    get,
    async claim(p) {
      // Concurrent first starts: one insert wins, every caller reads the winner.
      await db.run('INSERT INTO project (id, name, authority, created_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING', [p.name, p.authority, p.createdAt])
      const claimed = await get()
      if (claimed === undefined) throw new Error('the project row vanished after it was claimed')
      return claimed
    },
    async seen(route, now, started) {
      await db.run(started
        ? `INSERT INTO project_replicas (route, started_at, seen_at) VALUES (?, ?, ?)
           ON CONFLICT (route) DO UPDATE SET started_at = excluded.started_at, seen_at = excluded.seen_at`
        : `INSERT INTO project_replicas (route, started_at, seen_at) VALUES (?, ?, ?)
           ON CONFLICT (route) DO UPDATE SET seen_at = excluded.seen_at`, [route, now, now])
    },
    async replicas(since) {
      return (await db.all('SELECT * FROM project_replicas WHERE seen_at >= ? ORDER BY started_at, route', [since])).map(toReplica)
    },
    async forget(route) {
      return (await db.run('DELETE FROM project_replicas WHERE route = ?', [route])) > 0
    }
  }
}
