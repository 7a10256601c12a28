import type { Project } from '../authority/project.js'
import { forwarderAddress } from '../relay/relay-service.js'
import type { TcpInletConfig } from './config.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'

export class PortalError extends PorticoError {
  override readonly code: string = 'portal'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'PortalError'
}

/** The route an inlet uses: through a relay of the project, or as written. */
export function inletRoute(c: TcpInletConfig, project: Project | undefined): string {
  if (c.to !== undefined) return c.to
  if (project === undefined) throw new PortalError(`inlet via relay '${c.via ?? ''}' needs a project: enroll first`)
  return `/project/${project.name}/service/${forwarderAddress(c.via ?? '')}/secure/api/service/${c.outlet}`
}

/**
 * An influxdb inlet's route, `…/secure/CHANNEL/service/OUTLET`, split into the secure channel (which
 * also carries the lease requests) and the outlet's name: with `to`, the name in the route is the
 * one used, as a tcp-inlet's `to` route is used whole.
 */
export function splitOutletRoute(route: string): { channel: string; outlet: string } {
  const m = /^(.*\/secure\/[^/]+)\/service\/([^/]+)$/.exec(route)
  if (m?.[1] === undefined || m[2] === undefined) {
    throw new PortalError(`an influxdb-inlet route must end in /secure/…/service/OUTLET, as /node/db/secure/api/service/influxdb-outlet does, not '${route.slice(0, 200)}'`)
  }
  return { channel: m[1], outlet: m[2] }
}
