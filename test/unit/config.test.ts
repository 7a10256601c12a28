import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ConfigError, parseNodeConfig } from '../../src/node/config.js'
import { MAX_DURATION_SECONDS, parseDuration } from '../../src/encoding/duration.js'

test('JSON and YAML configs give the same result, with $VAR and ${VAR} from variables and then the environment', () => {
  const env = { PORT: '23345', HOSTNAME_X: 'from-env' }
  const json = parseNodeConfig('{"variables": {"NAME": "edge-1"}, "name": "$NAME", "http-server-port": "$PORT", "policies": {"echo": "${ROLE}-x"}, "identity": "$$literal"}', { ...env, ROLE: 'beta' })
  const yaml = parseNodeConfig('variables:\n  NAME: edge-1\nname: $NAME\nhttp-server-port: $PORT\npolicies:\n  echo: ${ROLE}-x\nidentity: $$literal\n', { ...env, ROLE: 'beta' })
  assert.deepEqual(json, yaml)
  assert.equal(json.name, 'edge-1')
  assert.equal(json['http-server-port'], 23345)
  assert.deepEqual(json.policies, { echo: 'beta-x' })
  assert.equal(json.identity, '$literal')
})

test('variables declared in the file win over the environment', () => {
  assert.equal(parseNodeConfig('variables: {N: file}\nname: $N', { N: 'env' }).name, 'file')
})

test('bad configs are errors that name the key', () => {
  const cases: [string, RegExp][] = [
    ['{"nmae": "x"}', /unknown key 'nmae'/],
    ['{"policies": {"echo": 3}}', /'policies.echo'/],
    ['{"policies": {"echo": "(= subject.x"}}', /'policies.echo'.*missing \)|unexpected end/],
    ['{"http-server-port": 70000}', /'http-server-port'/],
    ['{"http-server-port": "$UNSET_VAR_X"}', /http-server-port: variable \$UNSET_VAR_X is not set/],
    ['name: [unclosed', /neither valid JSON nor YAML/],
    ['- a\n- b', /must be a mapping/],
    ['{"variables": {"A": {"x": 1}}}', /'variables'/],
    ['{"name": "bad name!"}', /'name'/],
    // Inside a portal's entry, the key and the reason, not only "Invalid input" for the whole entry.
    ['influxdb-outlet: {to: "db:8086", api: v1}', /'influxdb-outlet\[0\]\.leased-token-permissions': missing: the permissions each lease gets/],
    ['influxdb-outlet: {to: "db:8086", leased-token-permissions: [], leased-token-expires-in: "5 minutes"}', /'influxdb-outlet\[0\]\.leased-token-expires-in': '5 minutes' is not a duration/],
    ['influxdb-outlet: {to: "db:8086", leased-token-permissions: 7}', /'influxdb-outlet\[0\]\.leased-token-permissions': must be a JSON array/],
    ['tcp-outlet: {to: "db:8086", tsl: true}', /unknown key 'tcp-outlet\[0\]\.tsl'/],
    ['tcp-outlet: {db: {to: "a:99999"}}', /'tcp-outlet\[0\].to'/],
    ['tcp-inlet: [{from: 5000}]', /'tcp-inlet\[0\]': give exactly one of via/]
  ]
  for (const [text, re] of cases) assert.throws(() => parseNodeConfig(text, {}), (e: unknown) => e instanceof ConfigError && re.test(e.message), text)
})

test('portals keyed by name, as Ockam writes them: the key is an outlet\'s name unless the entry gives one', () => {
  const c = parseNodeConfig('tcp-outlet: {db: {to: "127.0.0.1:5432"}, web: {to: "127.0.0.1:80", from: web-outlet}}\ninfluxdb-outlet: {influx: {to: "127.0.0.1:8086", leased-token-permissions: []}}\ntcp-inlet: {db-inlet: {from: 5000, via: db}}', {})
  assert.deepEqual(c['tcp-outlet']?.map((o) => [o.from, o.to]), [['db', '127.0.0.1:5432'], ['web-outlet', '127.0.0.1:80']])
  assert.equal(c['influxdb-outlet']?.[0]?.from, 'influx')
  assert.deepEqual(c['tcp-inlet']?.map((i) => [i.from, i.via]), [['127.0.0.1:5000', 'db']])
  // The single-entry and list forms are unchanged.
  assert.equal(parseNodeConfig('tcp-outlet: {to: "127.0.0.1:5432"}', {})['tcp-outlet']?.[0]?.from, 'outlet')
  assert.equal(parseNodeConfig('tcp-outlet: [{to: "127.0.0.1:5432", from: a}, {to: "127.0.0.1:5433", from: b}]', {})['tcp-outlet']?.length, 2)
})

test('relays: a name, a list, or a shared one written whole or keyed by its name', () => {
  const relays = (text: string): unknown => parseNodeConfig(text, {}).relay
  assert.deepEqual(relays('relay: db'), ['db'])
  assert.deepEqual(relays('relay: [db, web]'), ['db', 'web'])
  assert.deepEqual(relays('relay: {name: db, shared: true}'), [{ name: 'db', shared: true }])
  assert.deepEqual(relays('relay: {db: {shared: true}}'), [{ name: 'db', shared: true }])
  assert.deepEqual(relays('relay: [web, {name: db, shared: true}]'), ['web', { name: 'db', shared: true }])
  assert.throws(() => relays('relay: {name: db, shard: true}'), ConfigError)
  assert.throws(() => relays('relay: {name: "-db", shared: true}'), ConfigError)
})

test('property: any text is a config or a ConfigError, never a crash', () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => {
    try {
      parseNodeConfig(text, {})
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err))
    }
  }), { numRuns: 2000 })
  fc.assert(fc.property(fc.json(), (text) => {
    try {
      parseNodeConfig(text, {})
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err))
    }
  }), { numRuns: 1000 })
})

test('durations', () => {
  assert.equal(parseDuration('300'), 300)
  assert.equal(parseDuration(300), 300)
  assert.equal(parseDuration('5m'), 300)
  assert.equal(parseDuration('1h'), 3600)
  assert.equal(parseDuration('7d'), 604800)
  for (const bad of ['0', '-5', '1y', '1.5h', '', '9999999999', '400d']) assert.throws(() => parseDuration(bad), RangeError, bad)
})

test('property: a duration is whole seconds within the limit or a RangeError, and a number with a unit means that many units', () => {
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.double(), fc.integer()), (value) => {
    try {
      const seconds = parseDuration(value)
      assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_DURATION_SECONDS, `${String(value)} gave ${seconds}`)
    } catch (err) {
      assert.ok(err instanceof RangeError, `${String(value)} threw ${String(err)}`)
      assert.ok(err.message.length < 200, 'the message repeats a long input')
    }
  }), { numRuns: 3000 })
  const units = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }
  fc.assert(fc.property(fc.integer({ min: 1, max: 999_999_999 }), fc.constantFrom(...Object.entries(units)), (n, [unit, factor]) => {
    const seconds = n * factor
    if (seconds <= MAX_DURATION_SECONDS) assert.equal(parseDuration(`${n}${unit}`), seconds)
    else assert.throws(() => parseDuration(`${n}${unit}`), RangeError)
  }), { numRuns: 2000 })
})
