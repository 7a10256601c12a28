import type { Permission } from '../../src/influxdb/backends/backend.js'

/** Buckets the inlet tests' leases may read and write: `d` (v1-style writes and queries) and `b` (v2 writes). */
export const TEST_PERMISSIONS: Permission[] = ['d', 'b'].flatMap((name) => (['read', 'write'] as const).map((action) => ({ action, resource: { type: 'buckets', name } })))
