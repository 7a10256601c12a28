import type { Project } from '../authority/project.js'
import { forwarderAddress } from '../relay/relay-service.js'
import { formatMultiaddr, parseMultiaddr, type Segment } from '../routing/multiaddr.js'
import { PorticoError, type ErrorKind } from '../util/errors.js'

export class PortalError extends PorticoError {
  override readonly code: string = 'portal'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'PortalError'
}

/** No portal or relay of that name (or address) on this node. */
export class PortalNotFoundError extends PortalError {
  override readonly code: string = 'portal-not-found'
  override readonly kind: ErrorKind = 'not-found'
  override name = 'PortalNotFoundError'
}

/**
 * Where an inlet sends its clients, parsed once: the route to the outlet node's secure channel,
 * which carries the portal (and an influxdb inlet's lease requests), and the outlet's name there.
 */
export interface OutletTarget {
  /** Ends in its last `secure` step. */
  readonly channel: readonly Segment[]
  /** The outlet's service name, reached through the channel. */
  readonly outlet: string
  /** The relay on the way, when the inlet goes through one: failures name it. */
  readonly relay?: string
}

/** An inlet's `via` (a relay of the project) and `outlet`, or its `to` route written whole. */
export interface InletTargetConfig { via?: string | undefined; to?: string | undefined; outlet: string }

export function outletTarget(c: InletTargetConfig, project: Project | undefined): OutletTarget {
  if (c.to !== undefined) return splitTo(parseMultiaddr(c.to), c.to)
  if (project === undefined) throw new PortalError(`inlet via relay '${c.via ?? ''}' needs a project: enroll first`)
  const relay = c.via ?? ''
  return {
    channel: [{ kind: 'project', value: project.name }, { kind: 'service', value: forwarderAddress(relay) }, { kind: 'secure', value: 'api' }],
    outlet: c.outlet, relay
  }
}

/** The route as an operator writes it: `…/secure/api/service/OUTLET`. */
export function formatTarget(t: OutletTarget): string {
  return `${formatMultiaddr(t.channel)}/service/${t.outlet}`
}

/** A `to` route must end in `/secure/CHANNEL/service/OUTLET`: the channel is what the inlet opens and keeps, the outlet what it reaches through it. */
function splitTo(segments: readonly Segment[], text: string): OutletTarget {
  const outlet = segments.at(-1)
  if (outlet?.kind !== 'service' || segments.at(-2)?.kind !== 'secure') {
    throw new PortalError(`an inlet's route must end in /secure/…/service/OUTLET, as /node/db/secure/api/service/influxdb-outlet does, not '${text.slice(0, 200)}'`)
  }
  const channel = segments.slice(0, -1)
  const forwarder = channel.find((s) => s.kind === 'service' && s.value.startsWith(forwarderAddress('')))
  return { channel, outlet: outlet.value, ...(forwarder !== undefined ? { relay: forwarder.value.slice(forwarderAddress('').length) } : {}) }
}
