// The console's page: one document, a section per hash (#members, …), redrawn from the server's
// snapshot whenever the event stream says something changed. Every text goes in as text.
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import qrcode from 'qrcode-generator'
import './app.css'
import type { Snapshot, Lease, ProjectEvent } from './model.js'

type Child = Node | string | null | undefined | false
type Page = 'overview' | 'members' | 'tickets' | 'relays' | 'leases' | 'events'
const PAGES: readonly Page[] = ['overview', 'members', 'tickets', 'relays', 'leases', 'events']
const REFRESH_MS = 5000

let snapshot: Snapshot | undefined
let memberFilter = ''
let lastTicket: { ticket: string; expiresAt: string } | undefined
let charts: uPlot[] = []

function h(tag: string, attrs: Record<string, string | boolean | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k, v)
    else if (v === true) el.setAttribute(k, '')
    else if (v !== false) el.setAttribute(k, v)
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c)
  return el
}

const say = (text: string): void => { (document.getElementById('status') as HTMLElement).textContent = text }
const page = (): Page => PAGES.find((p) => `#${p}` === location.hash) ?? 'overview'
const when = (iso: string): string => new Date(iso).toLocaleString()
const seconds = (s: number | undefined): string => s === undefined ? '—' : when(new Date(s * 1000).toISOString())
const attrs = (a: Record<string, string>): string => Object.entries(a).map(([k, v]) => `${k}=${v}`).join(', ') || '—'

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(path, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const json = await r.json() as T & { error?: string }
  if (!r.ok) throw new Error(json.error ?? `${r.status}`)
  return json
}

function table(headers: string[], rows: Child[][], wide: number[] = []): HTMLElement {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, ...headers.map((t, i) => h('th', { scope: 'col', ...(wide.includes(i) ? { class: 'wide' } : {}) }, t)))),
    h('tbody', {}, ...(rows.length === 0 ? [h('tr', {}, h('td', { colspan: String(headers.length), class: 'muted' }, 'none'))] : rows.map((r) => h('tr', {}, ...r.map((c, i) => h('td', wide.includes(i) ? { class: 'wide' } : {}, c))))))))
}

async function act(what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    say(`${what}…`)
    await run()
    say(`${what}: done`)
    await reload()
  } catch (err) {
    say(`${what}: ${(err as Error).message}`)
  }
}

function overview(s: Snapshot): Child[] {
  const channels = Object.values(s.status?.channels ?? {}).reduce((a, b) => a + b, 0)
  const leases = s.outlets.reduce((n, o) => n + o.leases.length, 0)
  const card = (label: string, n: number): HTMLElement => h('div', { class: 'card' }, h('span', { class: 'n' }, String(n)), label)
  return [
    h('h2', {}, 'Overview'),
    h('div', { class: 'cards' }, card('members', s.status?.members ?? s.members.length), card('live channels', channels), card('relays', new Set(s.status?.relays.map((r) => r.name)).size), card('live leases', leases)),
    h('h2', {}, 'Replicas'),
    h('ul', {}, ...(s.status?.replicas ?? []).map((r) => h('li', {}, h('code', {}, r), r === s.status?.route ? ' (this console is connected to it)' : ''))),
    h('h2', {}, 'The last hour, per minute'),
    s.history.length === 0 ? h('p', { class: 'muted' }, 'Nothing has happened since this console started: enrollments and leases are counted from now on.') : null,
    h('div', { id: 'chart', class: 'chart', role: 'img', 'aria-label': 'Enrollments, leases issued and leases revoked per minute over the last hour' })
  ]
}

function drawChart(s: Snapshot): void {
  const at = document.getElementById('chart')
  if (at === null) return
  const xs = s.history.map((p) => p.minute * 60)
  const data: uPlot.AlignedData = [xs, s.history.map((p) => p.enrollments), s.history.map((p) => p.leasesIssued), s.history.map((p) => p.leasesRevoked)]
  charts.push(new uPlot({
    width: Math.min(at.clientWidth || 600, 900), height: 220,
    series: [{}, { label: 'enrollments', stroke: '#0550ae' }, { label: 'leases issued', stroke: '#116329' }, { label: 'leases revoked', stroke: '#a40e26' }]
  }, data, at))
}

function members(s: Snapshot): Child[] {
  const f = memberFilter.trim()
  const shown = s.members.filter((m) => f === '' || attrs(m.attributes).includes(f) || m.identifier.includes(f) || m.role === f)
  const live = s.status?.channels ?? {}
  return [
    h('h2', {}, 'Members'),
    h('label', {}, 'Filter by attribute, role or identifier', h('input', { type: 'search', value: memberFilter, placeholder: 'site=7', input: (e) => { memberFilter = (e.target as HTMLInputElement).value; render() } })),
    table(['Identifier', 'Attributes', 'Role', 'Added', 'Credential until', 'Last seen', 'Live channels', ''], shown.map((m) => [
      h('span', { class: 'id' }, m.identifier), attrs(m.attributes), m.role, seconds(m.addedAt), seconds(s.status?.credentials[m.identifier]?.expiresAt),
      live[m.identifier] !== undefined ? 'now' : seconds(s.status?.credentials[m.identifier]?.issuedAt), String(live[m.identifier] ?? 0),
      m.role === 'admin' ? '' : h('button', { class: 'danger', type: 'button', 'aria-label': `Delete member ${m.identifier}`, click: () => {
        if (confirm(`Delete and revoke ${m.identifier}? Its channels close and its leases are revoked.`)) void act('deleting the member', () => api('DELETE', `/api/members/${encodeURIComponent(m.identifier)}`))
      } }, 'Delete')
    ]), [3, 4, 5]),
    h('p', { class: 'muted' }, 'Credentials and last seen are as this project node knows them (its own credentials, since it started).')
  ]
}

function tickets(s: Snapshot): Child[] {
  const form = h('form', { 'aria-label': 'Create a ticket', submit: (e) => {
    e.preventDefault()
    const data = new FormData(e.target as HTMLFormElement)
    const field = (name: string): string => { const v = data.get(name); return typeof v === 'string' ? v : '' }
    const attributes = Object.fromEntries(field('attributes').split(/[\n,]/).map((l) => l.trim()).filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
    const relay = field('relay').trim()
    void act('creating a ticket', async () => {
      lastTicket = await api<{ ticket: string; expiresAt: string }>('POST', '/api/tickets', { attributes, ...(relay !== '' ? { relay } : {}), usageCount: Number(field('uses')), expiresInSeconds: Number(field('expires')) * 60 })
    })
  } },
  h('label', {}, 'Attributes (name=value, one a line)', h('textarea', { name: 'attributes', rows: '3', placeholder: 'influxdb-inlet=true\nbucket=site-7' })),
  h('label', {}, 'Relay it may register (optional)', h('input', { name: 'relay', type: 'text' })),
  h('label', {}, 'Uses', h('input', { name: 'uses', type: 'number', min: '1', value: '1' })),
  h('label', {}, 'Expires in (minutes)', h('input', { name: 'expires', type: 'number', min: '1', value: '10' })),
  h('button', { type: 'submit' }, 'Create ticket'))
  let shown: Child = null
  if (lastTicket !== undefined) {
    const qr = qrcode(0, 'L')
    qr.addData(lastTicket.ticket)
    qr.make()
    shown = h('section', { 'aria-label': 'The new ticket' }, h('h2', {}, 'New ticket (shown once)'),
      h('label', {}, `Ticket, until ${when(lastTicket.expiresAt)}`, h('textarea', { class: 'ticket', readonly: true, id: 'new-ticket' }, lastTicket.ticket)),
      h('img', { class: 'qr', src: qr.createDataURL(4, 8), alt: 'The ticket as a QR code, for a phone' }))
  }
  return [h('h2', {}, 'Create a ticket'), form, shown, h('h2', {}, 'Outstanding tickets'),
    table(['Id', 'Attributes', 'Role', 'Uses left', 'Expires', 'Created by', ''], s.tickets.map((t) => [
      h('code', {}, t.id), attrs(t.attributes), t.role, String(t.usesLeft), when(new Date(t.expiresAt * 1000).toISOString()), h('span', { class: 'id' }, t.createdBy),
      h('button', { class: 'danger', type: 'button', 'aria-label': `Revoke ticket ${t.id}`, click: () => { void act('revoking the ticket', () => api('DELETE', `/api/tickets/${t.id}`)) } }, 'Revoke')
    ]), [5])]
}

function relays(s: Snapshot): Child[] {
  const names = [...new Set((s.status?.relays ?? []).map((r) => r.name))].sort()
  return [h('h2', {}, 'Relays'), table(['Relay', 'Outlet node', 'Shared', 'Registered', 'Channels forwarded'], (s.status?.relays ?? []).map((r) => [
    h('code', {}, r.name), h('span', { class: 'id' }, r.identifier), r.shared ? 'yes' : 'no', when(r.registeredAt), String(r.forwarded)
  ]), [3]), h('h2', {}, 'Nodes connected to this project node'),
  table(['Identity', 'Channels'], Object.entries(s.status?.channels ?? {}).map(([id, n]) => [h('span', { class: 'id' }, id), String(n)])),
  h('p', { class: 'muted' }, `${names.length} relay name(s); inlets reach an outlet through its relay name.`)]
}

function countdown(l: Lease): string {
  const left = Math.max(0, Math.round((Date.parse(l.expiresAt) - Date.now()) / 1000))
  return `${Math.floor(left / 60)}m ${String(left % 60).padStart(2, '0')}s`
}

function leases(s: Snapshot): Child[] {
  if (s.outlets.length === 0) return [h('h2', {}, 'Leases'), h('p', { class: 'muted' }, 'No relay is registered: no outlet to ask.')]
  return s.outlets.flatMap((o) => [
    h('h2', {}, `Leases at ${o.outlet} behind relay ${o.relay}`),
    o.error !== undefined ? h('p', { class: 'error' }, `Not read: ${o.error}`) : null,
    table(['Holder', 'Lease', 'Permissions', 'Expires', 'Left', ''], o.leases.map((l) => [
      h('span', { class: 'id' }, l.identifier), h('code', {}, l.id), h('code', {}, JSON.stringify(l.permissions)), when(l.expiresAt), h('span', { 'data-expires': l.expiresAt, class: 'left' }, countdown(l)),
      h('button', { class: 'danger', type: 'button', 'aria-label': `Revoke every lease of ${l.identifier}`, click: () => { void act('revoking the leases', () => api('DELETE', `/api/leases/${encodeURIComponent(o.relay)}/${encodeURIComponent(l.identifier)}`)) } }, 'Revoke holder')
    ]), [2, 3])
  ])
}

function events(s: Snapshot): Child[] {
  return [h('h2', {}, 'Events'), h('ol', { class: 'events', 'aria-live': 'polite' }, ...[...s.events].reverse().map((e: ProjectEvent) =>
    h('li', {}, h('time', { datetime: e.at }, when(e.at)), ' ', h('strong', {}, e.kind), ' ', h('code', {}, e.subject), ' ', e.detail)))]
}

function render(): void {
  const s = snapshot
  const main = document.getElementById('main') as HTMLElement
  for (const c of charts) c.destroy()
  charts = []
  const current = page()
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#${current}`) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  if (s === undefined) return
  ;(document.getElementById('project') as HTMLElement).textContent = `— project ${s.status?.project ?? ''}`
  document.title = `Portico console: ${current}`
  const focused = document.activeElement instanceof HTMLInputElement ? document.activeElement.name || document.activeElement.type : undefined
  const view = { overview, members, tickets, relays, leases, events }[current](s)
  main.replaceChildren(...view.filter((c): c is Node | string => c !== null && c !== undefined && c !== false))
  if (s.error !== undefined) main.prepend(h('p', { class: 'error', role: 'alert' }, `The project could not be read: ${s.error}`))
  if (current === 'overview') drawChart(s)
  if (focused === 'search') main.querySelector<HTMLInputElement>('input[type=search]')?.focus()
}

async function reload(): Promise<void> {
  snapshot = await api<Snapshot>('GET', '/api/snapshot')
  render()
  say(`updated ${new Date(snapshot.updatedAt).toLocaleTimeString()}`)
}

window.addEventListener('hashchange', () => { render(); (document.getElementById('main') as HTMLElement).focus() })
document.addEventListener('DOMContentLoaded', () => {
  void reload()
  const stream = new EventSource('/api/events')
  stream.addEventListener('project', () => { void reload() })
  setInterval(() => { void reload() }, REFRESH_MS)
  setInterval(() => { for (const el of document.querySelectorAll<HTMLElement>('.left')) el.textContent = countdown({ expiresAt: el.dataset.expires ?? '' } as Lease) }, 1000)
})
