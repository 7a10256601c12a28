import { after } from 'node:test'
import { connect, type AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { InfluxdbInlet } from '../../src/influxdb/inlet/influxdb-inlet.js'
import type { LeaseKeeper } from '../../src/influxdb/inlet/lease-keeper.js'
import { silentLogger } from '../../src/log/logger.js'

/**
 * A started influxdb inlet (shared strategy) in front of a listening HTTP `target`, stopped with the
 * target after the file's tests.
 */
export async function inletInFrontOf(target: Server, leases: LeaseKeeper): Promise<{ inlet: InfluxdbInlet; host: string; port: number }> {
  const targetPort = (target.address() as AddressInfo).port
  const inlet = new InfluxdbInlet({ log: silentLogger, from: '127.0.0.1:0', upstream: () => connect({ host: '127.0.0.1', port: targetPort }), leases, strategy: 'shared' })
  const [host = '', portText] = (await inlet.start()).split(':')
  after(async () => {
    await inlet.stop()
    target.closeAllConnections()
    target.close()
  })
  return { inlet, host, port: Number(portText) }
}
