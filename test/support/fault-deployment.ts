import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cli, ok, type Cli } from './cli.js'
import { freePort } from './postgres.js'
import { startInflux, type InfluxServer } from './influxdb.js'
import { killNode, writesAgain } from './node-processes.js'

// The InfluxDB path as real processes, for the fault suite and bench:faults: a real InfluxDB 1.6.7
// (auth, JWT shared secret), a project node on a fixed port, an outlet node (relay + influxdb
// outlet) and a device node with an influxdb inlet. Each fault kills one of them with SIGKILL and
// starts it again with the command that first started it.

const SECRET = 'fault-suite-shared-secret-0123456789'

export type Fault = 'outlet' | 'project node' | 'device' | 'influxdb'
export const FAULTS: readonly Fault[] = ['outlet', 'project node', 'device', 'influxdb']

export interface FaultDeployment {
  portico: Cli
  inletPort: number
  /** Kills the process of `fault` and starts it again; returns ms from the restart to the first stored write. */
  crash(fault: Fault): Promise<number>
  stop(): Promise<void>
}

export async function startFaultDeployment(prefix = 'portico-faults-'): Promise<FaultDeployment> {
  const portico = cli(prefix)
  const influx: InfluxServer = await startInflux({ sharedSecret: SECRET })
  await influx.query('CREATE DATABASE "device"', { username: influx.admin.username, password: influx.admin.password })
  const [projectPort, inletPort] = await Promise.all([freePort(), freePort()])
  const start: Record<Exclude<Fault, 'influxdb'>, () => Promise<string>> = {
    'project node': () => ok(portico, 'authority', 'create', '--tcp-listener-address', `127.0.0.1:${projectPort}`),
    outlet: () => ok(portico, 'node', 'create', 'outlet', '--identity', 'outlet', '--config', join(portico.home, 'outlet.json')),
    device: () => ok(portico, 'node', 'create', 'device', '--identity', 'device', '--configuration', `influxdb-inlet: {from: ${inletPort}, via: influxdb, allow: influxdb-outlet}`)
  }
  await ok(portico, 'identity', 'create', 'admin')
  await start['project node']()
  for (const [name, attrs] of [['outlet', ['--attribute', 'influxdb-outlet=true', '--relay', 'influxdb']], ['device', ['--attribute', 'influxdb-inlet=true', '--attribute', 'bucket=device']]] as const) {
    await ok(portico, 'identity', 'create', name)
    await ok(portico, 'enroll', await ok(portico, 'ticket', 'create', ...attrs), '--identity', name)
  }
  writeFileSync(join(portico.home, 'outlet.json'), JSON.stringify({
    relay: 'influxdb',
    'influxdb-outlet': {
      to: influx.address, api: 'v1', allow: 'influxdb-inlet', 'admin-username': '$INFLUX_ADMIN', 'admin-password': '$INFLUX_PASSWORD', 'shared-secret': '$INFLUX_SECRET',
      'leased-token-expires-in': '1h', 'leased-token-permissions': [{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}' } }]
    }
  }))
  Object.assign(portico.env, { INFLUX_ADMIN: influx.admin.username, INFLUX_PASSWORD: influx.admin.password, INFLUX_SECRET: SECRET })
  await start.outlet()
  await start.device()
  await writesAgain(inletPort, 'device', Date.now())
  const nodeOf: Record<Exclude<Fault, 'influxdb'>, string> = { outlet: 'outlet', 'project node': 'authority', device: 'device' }
  return {
    portico, inletPort,
    async crash(fault) {
      if (fault === 'influxdb') {
        await influx.kill()
        await influx.restart()
      } else {
        await killNode(portico, nodeOf[fault])
        await start[fault]()
      }
      return writesAgain(inletPort, 'device', Date.now())
    },
    async stop() {
      for (const n of ['device', 'outlet', 'authority']) await portico('node', process.env.PORTICO_TEST_KEEP === '1' ? 'stop' : 'delete', n)
      await influx.stop()
    }
  }
}
