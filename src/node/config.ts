import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { Policy } from '../policy/policy.js'
import { parseDuration } from '../encoding/duration.js'
import { describeIssues } from '../encoding/validation.js'
import { nameSchema } from '../encoding/names.js'
import { DEFAULT_LEASE_TTL_SECONDS, DEFAULT_MAX_LEASES, DEFAULT_MAX_LEASES_PER_IDENTITY } from '../influxdb/leases/lease-manager.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'
import { MAX_OUTLET_CONNECTIONS_LIMIT } from '../portal/tcp-outlet.js'

/** A config file larger than this is refused before parsing. */
export const MAX_CONFIG_BYTES = 1024 * 1024

export class ConfigError extends PorticoError {
  override readonly code: string = 'config'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'ConfigError'
}

const port = z.union([z.number().int().min(0).max(65535), z.string().regex(/^\d{1,5}$/).transform(Number)])
  .refine((n) => n >= 0 && n <= 65535, 'a port is 0-65535')
const scalar = z.union([z.string(), z.number(), z.boolean()])

export const PolicyEntries = z.record(z.string().min(1).max(128), z.string().min(1).max(4096).superRefine((text, ctx) => {
  try {
    Policy.parse(text)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
  }
}))


const hostPort = z.string().max(300).refine((v) => {
  const m = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(v)
  return m !== null && Number(m[1]) <= 65535
}, 'must be HOST:PORT (a name or address, and a port up to 65535)')
const policyText = z.string().min(1).max(4096).superRefine((text, ctx) => {
  try {
    Policy.parse(text)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
  }
})
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
const serviceName = nameSchema('a service name')
const count = z.union([z.number().int().positive(), z.string().regex(/^\d+$/).transform(Number)])
/** Connections an outlet carries at once (MAX_OUTLET_CONNECTIONS if not given); each holds a file descriptor of the node's process. */
const maxConnections = count.pipe(z.number().max(MAX_OUTLET_CONNECTIONS_LIMIT)).optional()

export const TcpOutletConfig = z.object({
  to: hostPort,
  from: serviceName.default('outlet'),
  allow: policyText.optional(),
  tls: bool.default(false),
  'tls-ca-file': z.string().optional(),
  'tls-server-name': z.string().optional(),
  'max-connections': maxConnections
}).strict()
export type TcpOutletConfig = z.infer<typeof TcpOutletConfig>

/** Where an inlet listens: HOST:PORT, or a bare port on loopback. */
const inletFrom = z.union([hostPort, z.string().regex(/^\d{1,5}$/), z.number().int().min(0).max(65535)]).transform((v) => typeof v === 'number' || /^\d+$/.test(v) ? `127.0.0.1:${v}` : v)

export const TcpInletConfig = z.object({
  from: inletFrom,
  via: serviceName.optional(),
  to: z.string().max(1024).optional(),
  outlet: serviceName.default('outlet'),
  allow: policyText.optional()
}).strict().refine((c) => (c.via === undefined) !== (c.to === undefined), 'give exactly one of via (a relay name) or to (a route)')
export type TcpInletConfig = z.infer<typeof TcpInletConfig>

const duration = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  try {
    return parseDuration(v)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
    return z.NEVER
  }
})

export const InfluxdbOutletConfig = z.object({
  to: hostPort,
  from: serviceName.default('influxdb-outlet'),
  tls: bool.default(false),
  'tls-ca-file': z.string().optional(),
  'tls-server-name': z.string().optional(),
  allow: policyText.optional(),
  /** Who may list every holder's leases and end one identity's (`lease list --all`, `lease revoke --identity`); nobody without it. */
  'admin-allow': policyText.optional(),
  api: z.enum(['auto', 'v1', 'v2', 'v3']).default('auto'),
  'org-id': z.string().max(128).optional(),
  'all-access-token': z.string().max(1024).optional(),
  'admin-username': z.string().max(256).optional(),
  'admin-password': z.string().max(1024).optional(),
  'shared-secret': z.string().max(1024).optional(),
  'leased-token-expires-in': duration.default(DEFAULT_LEASE_TTL_SECONDS),
  'leased-token-permissions': z.union([z.string().max(64 * 1024), z.array(z.unknown())], {
    error: (i) => i.input === undefined ? 'missing: the permissions each lease gets, a JSON array (see docs/configuration.md)' : 'must be a JSON array of permissions, or its text'
  }),
  'allow-org-wide-permissions': bool.optional(),
  'max-leases-per-identity': count.default(DEFAULT_MAX_LEASES_PER_IDENTITY),
  'max-leases': count.default(DEFAULT_MAX_LEASES),
  'max-connections': maxConnections
}).strict()
export type InfluxdbOutletConfig = z.infer<typeof InfluxdbOutletConfig>

export const InfluxdbInletConfig = z.object({
  from: inletFrom,
  via: serviceName.optional(),
  to: z.string().max(1024).optional(),
  outlet: serviceName.default('influxdb-outlet'),
  allow: policyText.optional(),
  'leased-token-strategy': z.enum(['shared', 'per-client']).default('shared')
}).strict().refine((c) => (c.via === undefined) !== (c.to === undefined), 'give exactly one of via (a relay name) or to (a route)')
export type InfluxdbInletConfig = z.infer<typeof InfluxdbInletConfig>

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * One entry, a list of them, or (as Ockam's configs write them) entries keyed by name:
 * `tcp-outlet: {db: {to: …}}`, where the key is the entry's `keyedAs` (an outlet's `from`) unless
 * the entry gives it. Always validated as a list, so an error names the key inside the entry
 * (`'influxdb-outlet[0].leased-token-permissions'`), not only the entry.
 */
function oneOrMany<T extends z.ZodType>(t: T, entryKeys: readonly string[], keyedAs?: string): z.ZodType<z.infer<T>[]> {
  return z.preprocess((v: unknown): unknown => {
    if (Array.isArray(v)) return v as unknown[]
    const keyed = isPlainObject(v) && Object.keys(v).length > 0 && Object.entries(v).every(([k, item]) => !entryKeys.includes(k) && isPlainObject(item))
    if (!keyed) return [v]
    return Object.entries(v).map(([k, item]) => (keyedAs !== undefined && isPlainObject(item) && item[keyedAs] === undefined ? { ...item, [keyedAs]: k } : item))
  }, z.array(t))
}

/** Every key a node config may hold; anything else is an error naming the key. */
export const NodeConfigSchema = z.object({
  variables: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), scalar).optional(),
  name: nameSchema('a node name').optional(),
  identity: z.string().optional(),
  ticket: z.string().min(1).optional(),
  project: z.string().optional(),
  store: z.string().optional(),
  'tcp-listener-address': z.string().optional(),
  'http-server-port': port.optional(),
  'http-server-host': z.string().optional(),
  policies: PolicyEntries.optional(),
  // A name, or {name, shared: true} for one of several outlets in front of the same service.
  relay: oneOrMany(z.union([RelayNameSchema(), z.object({ name: RelayNameSchema(), shared: z.boolean().optional() }).strict()]), ['name', 'shared'], 'name').optional(),
  'tcp-outlet': oneOrMany(TcpOutletConfig, Object.keys(TcpOutletConfig.shape), 'from').optional(),
  'tcp-inlet': oneOrMany(TcpInletConfig, Object.keys(TcpInletConfig.shape)).optional(),
  'influxdb-outlet': oneOrMany(InfluxdbOutletConfig, Object.keys(InfluxdbOutletConfig.shape), 'from').optional(),
  'influxdb-inlet': oneOrMany(InfluxdbInletConfig, Object.keys(InfluxdbInletConfig.shape)).optional()
}).strict()

function RelayNameSchema(): z.ZodString {
  return nameSchema('a relay name')
}
export type NodeConfig = z.infer<typeof NodeConfigSchema>

const VAR_RE = /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g

/** Replaces `$VAR` and `${VAR}` in every string (from `variables`, then the environment); `$$` is a `$`. */
export function substitute(value: unknown, vars: Readonly<Record<string, string>>, path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(VAR_RE, (_m, whole: string, braced: string | undefined, bare: string | undefined) => {
      if (whole === '$') return '$'
      const name = braced ?? bare ?? ''
      const v = vars[name]
      if (v === undefined) throw new ConfigError(`${path || 'config'}: variable $${name} is not set (define it under 'variables' or in the environment)`)
      return v
    })
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, vars, `${path}[${i}]`))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars, path === '' ? k : `${path}.${k}`)]))
  }
  return value
}

/** Parses JSON or YAML text, substitutes variables and validates every key. */
export function parseNodeConfig(text: string, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new ConfigError(`config larger than ${MAX_CONFIG_BYTES} bytes`)
  let raw: unknown
  try {
    raw = parseYaml(text, { maxAliasCount: 100 }) ?? {}
  } catch (err) {
    throw new ConfigError(`config is neither valid JSON nor YAML: ${(err as Error).message.split('\n')[0] ?? ''}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('config must be a mapping of keys to values')
  const declared = (raw as { variables?: unknown }).variables
  const variables = z.record(z.string(), scalar).safeParse(declared ?? {})
  if (!variables.success) throw new ConfigError(`'variables': ${describeIssues(variables.error, true)}`)
  const vars: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) vars[k] = v
  for (const [k, v] of Object.entries(variables.data)) vars[k] = String(v)
  const { variables: _declared, ...rest } = raw as Record<string, unknown>
  const result = NodeConfigSchema.safeParse({ ...(substitute(rest, vars) as object), ...(declared !== undefined ? { variables: declared } : {}) })
  if (!result.success) throw new ConfigError(`invalid config: ${describeIssues(result.error, true)}`)
  return result.data
}

export function readNodeConfig(options: { file?: string; text?: string }, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  if (options.file !== undefined && options.text !== undefined) throw new ConfigError('give --config or --configuration, not both')
  if (options.file !== undefined) {
    let text: string
    try {
      text = readFileSync(options.file, 'utf8')
    } catch (err) {
      throw new ConfigError(`cannot read config file ${options.file}: ${(err as Error).message}`)
    }
    return parseNodeConfig(text, env)
  }
  return options.text !== undefined ? parseNodeConfig(options.text, env) : {}
}
