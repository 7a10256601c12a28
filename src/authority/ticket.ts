import { createHash, randomBytes } from 'node:crypto'
import { decodeCbor, encodeCbor, expectArray, expectBytes, expectString, expectUint } from '../encoding/cbor.js'
import { DecodeError } from '../encoding/errors.js'

/** Version 2 adds the routes of every project replica; version 1 tickets (one route) are still read. */
export const TICKET_VERSION = 2
/** A ticket (and a project file) names at most this many replicas. */
export const MAX_REPLICAS = 16
export const TICKET_CODE_BYTES = 32
/** A ticket string longer than this is refused before decoding. */
export const MAX_TICKET_LENGTH = 8192
export const DEFAULT_TICKET_TTL_SECONDS = 600
export const DEFAULT_TICKET_USES = 1

/** Everything a new node needs: the one-time code, where the project is, and whom to trust. */
export interface Ticket {
  code: Uint8Array
  project: string
  route: string
  authority: Uint8Array
  /** Every replica's route, `route` among them; absent: the project has one node. */
  replicas?: readonly string[]
}

export function newTicketCode(): Uint8Array {
  return randomBytes(TICKET_CODE_BYTES)
}

/** Only the hash is stored, so a copy of the store cannot enroll anyone. */
export function ticketCodeHash(code: Uint8Array): string {
  return createHash('sha256').update(code).digest('hex')
}

export function encodeTicket(t: Ticket): string {
  return Buffer.from(encodeCbor([TICKET_VERSION, t.code, t.project, t.route, t.authority, [...(t.replicas ?? [t.route])]])).toString('base64url')
}

export function decodeTicket(text: string): Ticket {
  try {
    return decodeTicketText(text)
  } catch (err) {
    // Said plainly first; the decoder's detail after it, for whoever made the ticket.
    if (err instanceof DecodeError) throw new DecodeError(`not a valid ticket (${err.message}): copy it whole from \`portico ticket create\``, { cause: err })
    throw err
  }
}

function decodeTicketText(text: string): Ticket {
  const trimmed = text.trim()
  if (trimmed.length > MAX_TICKET_LENGTH) throw new DecodeError('ticket too long')
  if (!/^[A-Za-z0-9_-]+$/.test(trimmed)) throw new DecodeError('a ticket is one base64url string')
  const fields = expectArray(decodeCbor(Buffer.from(trimmed, 'base64url')), 'ticket', [5, 6])
  const [version, code, project, route, authority, replicas] = fields
  const v = expectUint(version, 'ticket version')
  if (v !== 1 && v !== TICKET_VERSION) throw new DecodeError('unsupported ticket version')
  if ((v === 1) !== (fields.length === 5)) throw new DecodeError(`a version ${v} ticket has ${v === 1 ? 5 : 6} fields`)
  const first = expectString(route, 'ticket route')
  const ticket: Ticket = {
    code: expectBytes(code, 'ticket code', TICKET_CODE_BYTES),
    project: expectString(project, 'ticket project'),
    route: first,
    authority: expectBytes(authority, 'ticket authority')
  }
  if (replicas === undefined) return ticket
  const routes = expectArray(replicas, 'ticket replicas', [1, MAX_REPLICAS]).map((r) => expectString(r, 'ticket replica route'))
  if (!routes.includes(first)) throw new DecodeError('the ticket\'s route is not among its replicas')
  return { ...ticket, replicas: routes }
}
