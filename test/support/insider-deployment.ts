import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, ok, type Cli } from './cli.js'
import { freePort } from './postgres.js'
import { startInflux, type InfluxServer } from './influxdb.js'

// The deployment the insider attacks were made on, as real processes: InfluxDB 1.6.7 with auth
// and a JWT shared secret, a project node, an outlet node (relay `influxdb`, an influxdb-outlet
// configured inline, secrets and all), and two devices, each in a home of its own.

export const SHARED_SECRET = 'insider-suite-shared-secret-0123456789'

export interface Device {
  portico: Cli
  port: number
  identifier: string
}

export interface Deployment {
  influx: InfluxServer
  admin: Cli
  outletHttp: number
  devices: Record<'device-1' | 'device-2', Device>
  /** Every secret of the deployment: none may appear in a log, a command line or an error. */
  secrets: string[]
  adminQuery: (q: string, db?: string) => Promise<string>
  stop: () => Promise<void>
}

export async function startDeployment(prefix: string, extraOutlets: Record<string, unknown>[] = []): Promise<Deployment> {
  const influx = await startInflux({ sharedSecret: SHARED_SECRET })
  const adminQuery = async (q: string, db?: string): Promise<string> =>
    (await influx.query(q, { username: influx.admin.username, password: influx.admin.password, ...(db !== undefined ? { db } : {}) })).body
  for (const db of ['device-1', 'device-2', 'secret']) await adminQuery(`CREATE DATABASE "${db}"`)
  await adminQuery('INSERT payroll,name=ceo salary=990000', 'secret')
  const admin = cli(`${prefix}admin-`)
  await ok(admin, 'identity', 'create', 'admin')
  await ok(admin, 'authority', 'create', '--tcp-listener-address', '127.0.0.1:0')
  const projectFile = join(admin.home, 'project.json')
  await ok(admin, 'project', 'export', '--file', projectFile)
  const permissions = [{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }, { action: 'read', resource: { type: 'buckets', name: '{subject.bucket}' } }]
  const outletHttp = await freePort()
  const configuration = JSON.stringify({
    relay: 'influxdb', 'http-server-port': outletHttp,
    'influxdb-outlet': [{
      to: influx.address, api: 'v1', allow: 'influxdb-inlet', 'admin-username': influx.admin.username, 'admin-password': influx.admin.password,
      'shared-secret': SHARED_SECRET, 'leased-token-expires-in': '1h', 'leased-token-permissions': permissions
    }, ...extraOutlets]
  })
  await ok(admin, 'identity', 'create', 'outlet')
  const outletTicket = await ok(admin, 'ticket', 'create', '--attribute', 'influxdb-outlet=true', '--relay', 'influxdb')
  await ok(admin, 'node', 'create', 'outlet', '--identity', 'outlet', '--enrollment-ticket', outletTicket, '--configuration', configuration)
  const devices = {} as Record<'device-1' | 'device-2', Device>
  for (const name of ['device-1', 'device-2'] as const) {
    const portico = cli(`${prefix}${name}-`)
    await ok(portico, 'project', 'import', projectFile)
    const ticket = await ok(admin, 'ticket', 'create', '--attribute', 'influxdb-inlet=true', '--attribute', `bucket=${name}`)
    const port = await freePort()
    await ok(portico, 'node', 'create', name, '--enrollment-ticket', ticket, '--configuration', `influxdb-inlet: {from: ${port}, via: influxdb, allow: influxdb-outlet}`)
    const identifier = (JSON.parse(await ok(portico, 'identity', 'show', '--output', 'json')) as { identifier: string }).identifier
    devices[name] = { portico, port, identifier }
  }
  // Ready: each device's first write goes through.
  for (const [name, d] of Object.entries(devices)) {
    for (let i = 0; ; i++) {
      const r = await fetch(`http://127.0.0.1:${d.port}/write?db=${name}`, { method: 'POST', body: 'boot v=1' }).catch(() => undefined)
      if (r?.status === 204) break
      if (i > 300) throw new Error(`${name} could not write through its inlet: ${r?.status ?? 'no answer'} ${await r?.text() ?? ''}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return {
    influx, admin, outletHttp, devices, secrets: [SHARED_SECRET, influx.admin.password, outletTicket], adminQuery,
    stop: async () => {
      for (const [name, d] of Object.entries(devices)) await d.portico('node', 'delete', name)
      for (const n of ['outlet', 'authority']) await admin('node', 'delete', n)
      await influx.stop()
    }
  }
}

/** The log of node `name` in home `c`. */
export function nodeLog(c: Cli, name: string): string {
  return readFileSync(join(c.home, 'nodes', name, 'node.log'), 'utf8')
}

/** Writes a config file into a home, for nodes started with --config. */
export function writeConfig(c: Cli, file: string, text: string): string {
  const path = join(c.home, file)
  writeFileSync(path, text)
  return path
}
