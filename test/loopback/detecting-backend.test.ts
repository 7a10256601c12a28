import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { detectBackend, DetectingBackend } from '../../src/influxdb/backends/detecting-backend.js'
import { V2Backend } from '../../src/influxdb/backends/v2-backend.js'
import { silentLogger } from '../../src/log/logger.js'
import { freePort } from '../support/postgres.js'
import { call, DatabaseUnavailableError } from '../../src/influxdb/backends/http.js'

const issue = { leaseId: '00', identifier: 'I1', expiresAt: Date.now() + 60_000, lifetimeMs: 60_000, permissions: [] }

test('api auto: a database that comes up answering no version we know is a permanent failure, reported, not retried for ever', async () => {
  const port = await freePort()
  const endpoint = { to: `127.0.0.1:${port}`, tls: false }
  const controller = new AbortController()
  const made: string[] = []
  const backend = await detectBackend({ endpoint, log: silentLogger, signal: controller.signal, make: (api) => {
    made.push(api)
    return new V2Backend({ endpoint, orgId: 'o', allAccessToken: 't' })
  } })
  assert.ok(backend instanceof DetectingBackend)
  assert.equal(backend.kind, 'auto')
  assert.match(backend.waiting ?? '', /^waiting for the database: cannot reach the database at 127\.0\.0\.1:\d+/)
  await assert.rejects(backend.issue(issue), /does not know the database's API yet/)
  await assert.rejects(backend.listTagged(), /does not know the database's API yet/)

  // Something else answers on that port: waiting would not mend it.
  let pings = 0
  const server = createServer((req, res) => { pings++; res.writeHead(204).end() }).listen(port, '127.0.0.1')
  await once(server, 'listening')
  try {
    await assert.rejects(backend.detected, /cannot tell the InfluxDB API version from \/ping/)
    assert.match(backend.waiting ?? '', /^cannot use the database: cannot tell the InfluxDB API version/)
    await assert.rejects(backend.revoke('abc'), /cannot use the database/)
    assert.deepEqual(made, [])
    assert.equal(pings, 1)
  } finally {
    controller.abort()
    server.close()
  }
})

test('api auto: a database that answers at once gives the backend of its version, with no waiting', async () => {
  const server = createServer((req, res) => res.writeHead(204, { 'x-influxdb-version': '1.6.7' }).end()).listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  try {
    const endpoint = { to: `127.0.0.1:${port}`, tls: false }
    const backend = await detectBackend({ endpoint, log: silentLogger, signal: new AbortController().signal, make: (api) => {
      throw new Error(`${api}: needs admin-username`)
    } }).catch((err: unknown) => err)
    assert.match(String(backend), /v1: needs admin-username/, 'a configuration the detected version cannot use fails the start')
  } finally {
    server.close()
  }
})

test('a connection failure says what is wrong in an operator\'s words: TLS asked of a plain HTTP server, nothing listening', async () => {
  const plain = createServer((req, res) => res.writeHead(204).end()).listen(0, '127.0.0.1')
  await once(plain, 'listening')
  const port = (plain.address() as { port: number }).port
  try {
    await assert.rejects(call({ to: `127.0.0.1:${port}`, tls: true }, 'GET', '/ping', {}),
      (err: Error) => err instanceof DatabaseUnavailableError && /the server does not speak TLS \(is tls: true set for a plain HTTP server\?\)/.test(err.message))
  } finally {
    plain.close()
  }
  await assert.rejects(call({ to: `127.0.0.1:${await freePort()}`, tls: false }, 'GET', '/ping', {}), /connection refused \(nothing listens there\)/)
})
