import { test } from 'node:test'
import assert from 'node:assert/strict'
import { databaseHost } from '../../src/influxdb/http.js'

test('the Host header for the database: its name, and its port unless the scheme implies it', () => {
  assert.equal(databaseHost({ to: 'influxdb.internal:8086', tls: false }), 'influxdb.internal:8086')
  assert.equal(databaseHost({ to: 'us-east-1-1.aws.cloud2.influxdata.com:443', tls: true }), 'us-east-1-1.aws.cloud2.influxdata.com')
  assert.equal(databaseHost({ to: 'proxy.lan:80', tls: false }), 'proxy.lan')
  // The default port of the other scheme is not left out.
  assert.equal(databaseHost({ to: 'db.lan:443', tls: false }), 'db.lan:443')
  assert.equal(databaseHost({ to: 'db.lan:80', tls: true }), 'db.lan:80')
  // A database reached by address but known by name (tls-server-name) is asked for by that name.
  assert.equal(databaseHost({ to: '10.0.0.5:443', tls: true, serverName: 'influx.example.com' }), 'influx.example.com')
  assert.equal(databaseHost({ to: '10.0.0.5:8086', tls: true, serverName: 'influx.example.com' }), 'influx.example.com:8086')
  assert.equal(databaseHost({ to: '[fd00::5]:8086', tls: false }), '[fd00::5]:8086')
})
