import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Policy, defaultPolicy, type Subject } from '../../src/policy/policy.js'
import { MAX_POLICY_DEPTH, MAX_POLICY_LENGTH, PolicySyntaxError } from '../../src/policy/ast.js'

const inlet: Subject = { identifier: 'Iabc', hasCredential: true, attributes: { 'influxdb-inlet': 'true', site: 'paris', level: '7' } }
const beta: Subject = { ...inlet, attributes: { ...inlet.attributes, beta: 'true' } }
const anonymous: Subject = { hasCredential: false, attributes: {} }
const resource = { id: 'tcp-outlet', type: 'tcp-outlet' }
const allows = (p: string, s: Subject): boolean => Policy.parse(p).decide(s, resource).allowed

test('the full S-expression form with every operator', () => {
  assert.equal(allows('(= subject.influxdb-inlet "true")', inlet), true)
  assert.equal(allows('(= subject.influxdb-inlet "true")', anonymous), false)
  assert.equal(allows('(and (= subject.site "paris") (not (= subject.beta "true")))', inlet), true)
  assert.equal(allows('(and (= subject.site "paris") (not (= subject.beta "true")))', beta), false)
  assert.equal(allows('(or (= subject.site "lyon") (member? subject.site ["paris" "nice"]))', inlet), true)
  assert.equal(allows('(!= subject.site "lyon")', inlet), true)
  assert.equal(allows('(!= subject.missing "lyon")', inlet), false)
  assert.equal(allows('(> subject.level 5)', inlet), true)
  assert.equal(allows('(< subject.level 5)', inlet), false)
  assert.equal(allows('(< subject.site 5)', inlet), false)
  assert.equal(allows('(exists? subject.site subject.level)', inlet), true)
  assert.equal(allows('(exists? subject.beta)', inlet), false)
  assert.equal(allows('(if (exists? subject.beta) false (= subject.has_credential true))', inlet), true)
  assert.equal(allows('(= subject.identifier "Iabc")', inlet), true)
  assert.equal(allows('(= resource.id "tcp-outlet")', inlet), true)
  assert.equal(allows('(= action.id "handle_message")', inlet), true)
})

test('the boolean shorthand, with precedence not > and > or', () => {
  assert.equal(allows('influxdb-inlet', inlet), true)
  assert.equal(allows('influxdb-inlet and not beta', inlet), true)
  assert.equal(allows('influxdb-inlet and not beta', beta), false)
  assert.equal(allows('beta or influxdb-inlet and not beta', beta), true)
  assert.equal(allows('(beta or influxdb-inlet) and not beta', beta), false)
  assert.equal(Policy.parse('a and not b or c').toString(), '(or (and (= subject.a "true") (not (= subject.b "true"))) (= subject.c "true"))')
})

test('an attribute cannot forge the proven identifier or credential flag', () => {
  const forger: Subject = { identifier: 'Ireal', hasCredential: false, attributes: { identifier: 'Iadmin', has_credential: 'true' } }
  assert.equal(allows('(= subject.identifier "Iadmin")', forger), false)
  assert.equal(defaultPolicy.decide(forger, resource).allowed, false)
  assert.equal(defaultPolicy.decide(inlet, resource).allowed, true)
})

test('evaluation errors deny with a reason instead of throwing', () => {
  const d = Policy.parse('(and subject.site)').decide(inlet, resource)
  assert.equal(d.allowed, false)
  assert.match(d.reason, /needs booleans/)
  assert.equal(Policy.parse('(if true "x" "y")').decide(inlet, resource).allowed, false)
  assert.equal(Policy.parse('(member? subject.site subject.level)').decide(inlet, resource).allowed, false)
})

test('syntax errors name the problem and the position', () => {
  const bad: [string, RegExp][] = [
    ['(= subject.a "x"', /missing \)|unexpected end/], ['(frobnicate subject.a b)', /expected an operator/], ['(not subject.a subject.b)', /takes 1 arguments/], ['(= site "x")', /is not a name/],
    ['"unterminated', /unterminated string/], ['a and', /unexpected end/], ['a b', /expected 'and' or 'or'/], ['(= subject.a "x") extra', /after the expression/],
    ['', /unexpected end/], ['a $ b', /unexpected characters/], ['(= subject.a "\\n")', /escapes/], ['and', /expected an attribute name/]
  ]
  for (const [text, re] of bad) assert.throws(() => Policy.parse(text), (e: unknown) => e instanceof PolicySyntaxError && re.test(e.message), text)
  assert.throws(() => Policy.parse('x'.repeat(MAX_POLICY_LENGTH + 1)), /longer than/)
  assert.throws(() => Policy.parse('('.repeat(200) + 'and true' + ')'.repeat(200)), /expected an operator|nesting deeper/)
  assert.throws(() => Policy.parse('(not '.repeat(MAX_POLICY_DEPTH + 2) + 'true' + ')'.repeat(MAX_POLICY_DEPTH + 2)), /nesting deeper/)
  assert.throws(() => Policy.parse('not '.repeat(MAX_POLICY_DEPTH + 2) + 'a'), /nesting deeper/)
})

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/).filter((s) => !['and', 'or', 'not', 'true', 'false'].includes(s))
const shorthand: fc.Arbitrary<string> = fc.letrec((tie) => ({
  expr: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    name,
    fc.tuple(tie('expr'), fc.constantFrom('and', 'or'), tie('expr')).map(([a, op, b]) => `(${a as string}) ${op} (${b as string})`),
    tie('expr').map((e) => `not (${e as string})`))
})).expr

test('property: any text either parses or fails with PolicySyntaxError, and a parsed policy always decides', () => {
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
    let p: Policy
    try {
      p = Policy.parse(text)
    } catch (err) {
      assert.ok(err instanceof PolicySyntaxError, String(err))
      return
    }
    assert.equal(typeof p.decide(inlet, resource).allowed, 'boolean')
  }), { numRuns: 3000 })
})

test('property: token soup of policy words never throws anything but PolicySyntaxError', () => {
  const token = fc.constantFrom('(', ')', '[', ']', 'and', 'or', 'not', 'if', '=', '!=', '<', '>', 'member?', 'exists?', 'subject.site', '"paris"', '5', 'true', 'beta')
  fc.assert(fc.property(fc.array(token, { maxLength: 30 }), (tokens) => {
    try {
      Policy.parse(tokens.join(' ')).decide(beta, resource)
    } catch (err) {
      assert.ok(err instanceof PolicySyntaxError, String(err))
    }
  }), { numRuns: 5000 })
})

test('property: the canonical form of a shorthand parses back to the same decisions', () => {
  fc.assert(fc.property(shorthand, fc.dictionary(name, fc.constantFrom('true', 'false')), (text, attributes) => {
    const subject: Subject = { identifier: 'Ix', hasCredential: true, attributes }
    const p = Policy.parse(text)
    const again = Policy.parse(p.toString())
    assert.equal(again.toString(), p.toString())
    assert.equal(again.decide(subject, resource).allowed, p.decide(subject, resource).allowed)
  }), { numRuns: 1000 })
})

test('a missing attribute never passes: not equal to another missing one, not a member of a missing list, not unequal either', () => {
  // Fail-open shapes a policy engine gets wrong: two absent names compared, an absent list.
  assert.equal(allows('(= subject.nope subject.also-nope)', inlet), false)
  assert.equal(allows('(= subject.nope subject.nope)', inlet), false)
  assert.equal(allows('(member? subject.nope subject.no-list)', inlet), false)
  assert.equal(allows('(member? subject.site subject.no-list)', inlet), false)
  assert.equal(allows('(member? subject.nope ["paris"])', inlet), false)
  assert.equal(allows('(!= subject.nope subject.also-nope)', inlet), false)
  assert.equal(allows('(not (= subject.nope "x"))', inlet), true, 'only the comparison is false: not of it is true, as written')
  assert.equal(allows('nope', inlet), false)
  assert.equal(allows('(= subject.site subject.nope)', inlet), false)
})
