import { test } from 'node:test'
import { LeaseError } from '../../src/influxdb/leases/lease-types.js'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MAX_PERMISSIONS, parsePermissionTemplate, renderPermissions } from '../../src/influxdb/leases/permissions.js'

const PER_BUCKET = JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.bucket}', orgID: 'INFLUX_ORG_ID' } }])

test('an attribute can only name its own bucket: any value gives exactly that grant, or a LeaseError', () => {
  fc.assert(fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9_.:-]{1,128}$/), fc.constantFrom('a","name":"*', 'x"}},{"action":"read', '\\"', '*', '')), (value) => {
    let granted
    try {
      granted = renderPermissions(PER_BUCKET, 'org1', { bucket: value })
    } catch (err) {
      assert.ok(err instanceof LeaseError, `unexpected ${String(err)}`)
      return
    }
    assert.deepEqual(granted, [{ action: 'write', resource: { type: 'buckets', name: value, orgID: 'org1' } }])
  }), { numRuns: 2000 })
})

test('a subject without the attribute, or with an unusable value, is refused with a clear reason', () => {
  assert.throws(() => renderPermissions(PER_BUCKET, 'org1', {}), /lacks the attribute bucket that its lease permissions need/)
  assert.throws(() => renderPermissions(PER_BUCKET, 'org1', { bucket: 'a"b' }), /attribute bucket is not usable in a permission/)
  const two = JSON.stringify([{ action: 'read', resource: { type: 'buckets', name: '{subject.site}-{subject.bucket}' } }])
  assert.throws(() => renderPermissions(two, 'org1', {}), /lacks the attributes site, bucket/)
  assert.deepEqual(renderPermissions(two, 'org1', { site: 's1', bucket: 'b1' }), [{ action: 'read', resource: { type: 'buckets', name: 's1-b1' } }])
})

test('an org id that breaks the JSON, or values that overflow a field, give a LeaseError, not a crash', () => {
  assert.throws(() => renderPermissions(PER_BUCKET, 'a"b', { bucket: 'b' }), (err: Error) => err instanceof LeaseError && /not valid JSON/.test(err.message))
  const three = JSON.stringify([{ action: 'write', resource: { type: 'buckets', name: '{subject.a}{subject.a}{subject.a}' } }])
  assert.throws(() => renderPermissions(three, 'org1', { a: 'x'.repeat(128) }), (err: Error) => err instanceof LeaseError && /lease permissions: \[0\]\.resource\.name/.test(err.message))
})

test('the org id and attribute values go in as written, whatever they hold', () => {
  fc.assert(fc.property(fc.string({ maxLength: 40 }).filter((s) => JSON.stringify(s) === `"${s}"`), (orgId) => {
    assert.deepEqual(renderPermissions(PER_BUCKET, orgId, { bucket: 'b' }), [{ action: 'write', resource: { type: 'buckets', name: 'b', orgID: orgId } }])
  }))
  for (const orgId of ['$&', "$'", '$`', '$$', 'a$1b', '{subject.bucket}']) {
    assert.equal(renderPermissions(PER_BUCKET, orgId, { bucket: 'b' })[0]?.resource.orgID, orgId)
  }
  // Nor is an attribute's value read as the org id's placeholder.
  assert.equal(renderPermissions(PER_BUCKET, 'org1', { bucket: 'INFLUX_ORG_ID' })[0]?.resource.name, 'INFLUX_ORG_ID')
})

test('permission templates: whatever the text, a LeaseError that says where, or a template that renders', () => {
  const permission = fc.record({
    action: fc.oneof(fc.constantFrom('read', 'write'), fc.string()),
    resource: fc.record({ type: fc.oneof(fc.constant('buckets'), fc.string()), name: fc.oneof(fc.constant('{subject.bucket}'), fc.string()) }, { requiredKeys: ['type'] })
  })
  const template = fc.oneof(fc.string(), fc.json(), fc.array(permission, { maxLength: MAX_PERMISSIONS + 2 }).map((a) => JSON.stringify(a)))
  fc.assert(fc.property(template, (text) => {
    let parsed
    try {
      parsed = parsePermissionTemplate(text)
    } catch (err) {
      assert.ok(err instanceof LeaseError, `unexpected ${String(err)}`)
      assert.match(err.message, /^leased-token-permissions/)
      return
    }
    try {
      renderPermissions(parsed, 'org1', { bucket: 'b1' })
    } catch (err) {
      assert.ok(err instanceof LeaseError, `unexpected ${String(err)}`)
    }
  }), { numRuns: 2000 })
  assert.throws(() => parsePermissionTemplate('[{"action":"delete","resource":{"type":"buckets"}}]'), /leased-token-permissions: \[0\]\.action: Invalid option/)
  assert.throws(() => parsePermissionTemplate('[]'), /leased-token-permissions: .*>=1/)
  assert.throws(() => parsePermissionTemplate('{"action":"read"}'), /leased-token-permissions: .*expected array/)
})

test('a permission for every bucket of the org (neither id nor name) is refused at start unless allow-org-wide-permissions says so', () => {
  const wide = '[{"action":"write","resource":{"type":"buckets","name":"{subject.bucket}"}},{"action":"read","resource":{"type":"buckets","orgID":"INFLUX_ORG_ID"}}]'
  assert.throws(() => parsePermissionTemplate(wide), /\[1\] names no buckets .*allow-org-wide-permissions/)
  assert.equal(parsePermissionTemplate(wide, { allowOrgWide: true }), wide)
  assert.ok(parsePermissionTemplate('[{"action":"write","resource":{"type":"buckets","id":"0123456789abcdef"}}]').length > 0)
})
