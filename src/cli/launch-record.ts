import { CliError } from './cli-error.js'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import type { Home } from '../node/home.js'

/** Configuration keys whose values are secrets: never written to a node's launch record. */
export const SECRET_KEYS = ['admin-password', 'shared-secret', 'all-access-token'] as const

/** How a node was created, so `node start` brings it back as it was. No ticket, no secret. */
export const LaunchRecord = z.object({
  config: z.string().optional(),
  configuration: z.string().optional(),
  tcpListenerAddress: z.string().optional(),
  httpServerPort: z.string().optional(),
  identity: z.string().optional(),
  project: z.string().optional(),
  store: z.string().optional(),
  /** A project node (`authority create`): what it was created with beyond the above. */
  authority: z.object({ credentialTtl: z.string(), publicRoute: z.string().optional(), replica: z.boolean().optional() }).strict().optional()
}).strict()
export type LaunchRecord = z.infer<typeof LaunchRecord>

const file = (home: Home, name: string): string => join(home.nodeDir(name), 'launch.json')

/** The variable a literal secret is replaced by: PORTICO_<NODE>_<KEY>[_<N>]. */
const variableFor = (node: string, key: string, n: number | undefined): string =>
  `PORTICO_${node}_${key}${n === undefined ? '' : `_${n}`}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_')

/**
 * The inline configuration with every literal secret of an influxdb outlet replaced by a
 * `$VARIABLE` reference (resolved from the environment at start), and the variables so named.
 */
export function withoutSecrets(text: string, node: string): { text: string; variables: string[] } {
  const parsed = parseYaml(text) as unknown
  if (typeof parsed !== 'object' || parsed === null) return { text, variables: [] }
  const config = parsed as Record<string, unknown>
  const outlets = config['influxdb-outlet']
  const list = Array.isArray(outlets) ? outlets : outlets === undefined ? [] : [outlets]
  const variables: string[] = []
  list.forEach((o, i) => {
    if (typeof o !== 'object' || o === null) return
    const entry = o as Record<string, unknown>
    for (const key of SECRET_KEYS) {
      const v = entry[key]
      if (typeof v !== 'string' || v.startsWith('$')) continue
      const name = variableFor(node, key, list.length > 1 ? i : undefined)
      entry[key] = `$${name}`
      variables.push(name)
    }
  })
  // A store URL with a password stays out as well: `node start` takes it from PORTICO_STORE then.
  if (typeof config.store === 'string' && /:\/\/[^/@]*:[^/@]*@/.test(config.store)) delete config.store
  return { text: JSON.stringify(config), variables }
}

/** Writes the record (0600, in the node's 0700 folder); returns the variables `node start` will need. */
export function saveLaunch(home: Home, name: string, r: LaunchRecord): string[] {
  let variables: string[] = []
  const record: LaunchRecord = { ...r }
  if (r.configuration !== undefined) {
    const safe = withoutSecrets(r.configuration, name)
    record.configuration = safe.text
    variables = safe.variables
  }
  if (record.store !== undefined && /:\/\/[^/@]*:[^/@]*@/.test(record.store)) delete record.store
  writeFileSync(file(home, name), JSON.stringify(record, null, 2) + '\n', { mode: 0o600 })
  return variables
}

export function loadLaunch(home: Home, name: string): LaunchRecord {
  const path = file(home, name)
  if (!existsSync(path)) throw new CliError(`node '${name}' was never created in this home (no ${path}): use node create`, 'not-found')
  return LaunchRecord.parse(JSON.parse(readFileSync(path, 'utf8')))
}
