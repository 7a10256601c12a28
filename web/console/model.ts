// The JSON the console's server answers /api/snapshot with (src/console/project-view.ts).
export interface Member { identifier: string; attributes: Record<string, string>; role: string; addedAt: number }
export interface Ticket { id: string; attributes: Record<string, string>; role: string; usesLeft: number; expiresAt: number; createdBy: string }
export interface Lease { id: string; identifier: string; expiresAt: string; permissions?: unknown }
export interface Relay { name: string; identifier: string; shared: boolean; registeredAt: string; forwarded: number }
export interface ProjectEvent { at: string; kind: string; subject: string; detail: string }
export interface Snapshot {
  status?: { project: string; route: string; members: number; replicas: string[]; relays: Relay[]; channels: Record<string, number>; credentials: Record<string, { issuedAt: number; expiresAt: number }> }
  members: Member[]
  tickets: Ticket[]
  outlets: { relay: string; outlet: string; leases: Lease[]; error?: string }[]
  history: { minute: number; enrollments: number; leasesIssued: number; leasesRevoked: number }[]
  events: ProjectEvent[]
  updatedAt: string
  error?: string
}
