import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Policy, type Subject } from '../../src/policy/policy.js'
import { MAX_POLICY_DEPTH, PolicyEvalError, type Expr } from '../../src/policy/ast.js'
import { evaluate } from '../../src/policy/evaluate.js'

// The evaluator's exact semantics, operator by operator: what compares equal, where a boundary
// lies, and what every refusal says (a policy's failure reason is what an operator reads).

const subject: Subject = { identifier: 'Iabc', hasCredential: true, attributes: { level: '7', neg: '-3', frac: '7.5', t: 'true', f: 'false', word: 'yes', odd: '7a' } }
const resource = { id: 'r', type: 'tcp-outlet' }
const decide = (p: string): { allowed: boolean; reason: string } => {
  const d = Policy.parse(p).decide(subject, resource)
  return { allowed: d.allowed, reason: d.allowed ? '' : d.reason }
}
const allows = (p: string): boolean => decide(p).allowed

test('< and >: numbers and numeric attributes, strict at the boundary, false for anything not a number', () => {
  assert.equal(allows('(< 5 5)'), false)
  assert.equal(allows('(> 5 5)'), false)
  assert.equal(allows('(< 4 5)'), true)
  assert.equal(allows('(> 6 5)'), true)
  assert.equal(allows('(> subject.level 6)'), true)
  assert.equal(allows('(< subject.neg -2)'), true)
  assert.equal(allows('(> subject.frac 7.4)'), true)
  for (const notANumber of ['subject.odd', 'subject.word', 'subject.missing', '"x7"', '"7."', '".5"', '"1 2"']) {
    assert.equal(allows(`(< ${notANumber} 100)`), false, notANumber)
    assert.equal(allows(`(> 100 ${notANumber})`), false, notANumber)
  }
})

test('= and != on lists: equal only with the same items in the same order', () => {
  assert.equal(allows('(= ["a" "b"] ["a" "b"])'), true)
  assert.equal(allows('(= ["a"] ["a" "b"])'), false)
  assert.equal(allows('(= ["a" "b"] ["a" "c"])'), false)
  assert.equal(allows('(= ["a" "b"] ["b" "a"])'), false)
  assert.equal(allows('(= ["a"] "a")'), false)
  assert.equal(allows('(= "a" ["a"])'), false)
  assert.equal(allows('(!= ["a"] ["b"])'), true)
  assert.equal(allows('(!= "x" subject.missing)'), false)
  assert.equal(allows('(!= subject.missing "x")'), false)
  assert.equal(allows('(= subject.level 7)'), true, 'attributes are text: 7 equals "7"')
})

test('attributes "true" and "false" are booleans; anything else where a boolean is needed is refused, saying what it was', () => {
  assert.equal(allows('(and subject.t)'), true)
  assert.equal(allows('(and subject.f)'), false)
  assert.equal(allows('(or subject.f subject.t)'), true)
  assert.equal(allows('(not subject.f)'), true)
  assert.equal(allows('(and subject.missing)'), false)
  assert.match(decide('(and subject.word)').reason, /'and' needs booleans, got string "yes"/)
  assert.match(decide('(or 5)').reason, /'or' needs booleans, got number 5/)
  assert.match(decide('(not ["a"])').reason, /'not' needs booleans, got a list/)
  assert.match(decide('(if "maybe" true false)').reason, /'if' needs booleans, got string "maybe"/)
  assert.match(decide('(if true "yes" false)').reason, /policy evaluates to string "yes", not a boolean/)
  assert.match(decide('(if true subject.missing false)').reason, /policy evaluates to a missing name, not a boolean/)
})

test('member? needs a list; exists? takes names; a list may not hold a missing name', () => {
  assert.equal(allows('(member? subject.level ["6" "7"])'), true)
  assert.equal(allows('(member? "8" ["6" "7"])'), false)
  assert.match(decide('(member? "a" "abc")').reason, /'member\?' needs a list as its second argument/)
  assert.match(decide('(exists? "level")').reason, /'exists\?' takes names/)
  assert.equal(allows('(exists? subject.level subject.t)'), true)
  assert.equal(allows('(exists? subject.level subject.nope)'), false)
  assert.match(decide('(member? "a" [subject.nope])').reason, /a list item names something that does not exist/)
})

test('nesting: at most MAX_POLICY_DEPTH levels are evaluated', () => {
  const nested = (n: number): string => `${'(not '.repeat(n)}true${')'.repeat(n)}`
  const parsedOk = (n: number): boolean => { try { Policy.parse(nested(n)); return true } catch { return false } }
  // The parser bounds depth too; where it admits a policy, evaluation of it must succeed.
  for (const n of [1, 2, MAX_POLICY_DEPTH - 1]) if (parsedOk(n)) assert.equal(allows(nested(n)), n % 2 === 0, `depth ${n}`)
  // The evaluator holds its own bound, for trees that did not come from the parser: exactly at it.
  const tree = (n: number, inner: Expr): Expr => n === 0 ? inner : { kind: 'call', op: 'not', args: [tree(n - 1, inner)] }
  const env = new Map<string, string>()
  assert.equal(evaluate(tree(MAX_POLICY_DEPTH, { kind: 'bool', value: true }), env), MAX_POLICY_DEPTH % 2 === 0)
  assert.throws(() => evaluate(tree(MAX_POLICY_DEPTH + 1, { kind: 'bool', value: true }), env), (err: Error) => err instanceof PolicyEvalError && /policy nested too deeply/.test(err.message))
  const list = (n: number): Expr => n === 0 ? { kind: 'string', value: 'x' } : { kind: 'list', items: [list(n - 1)] }
  assert.throws(() => evaluate({ kind: 'call', op: 'member?', args: [{ kind: 'string', value: 'x' }, list(MAX_POLICY_DEPTH + 1)] }, env), /policy nested too deeply/)
})

test('a missing name is false, so its negation is true, and nothing it is compared with matches it, whatever its text', () => {
  assert.equal(allows('(not subject.nope)'), true)
  assert.equal(allows('(not (member? "7" subject.no-list))'), true, 'a missing list holds nothing: not an error')
  // A value that looks like the evaluator's own marker for "missing" is still only a value.
  const odd: Subject = { identifier: 'Iabc', hasCredential: true, attributes: { marker: 'Symbol(missing)' } }
  for (const p of ['(= subject.marker subject.nope)', '(= subject.nope subject.marker)', '(member? subject.nope [subject.marker])', '(member? subject.marker [subject.marker subject.nope])']) {
    const d = Policy.parse(p).decide(odd, resource)
    assert.equal(d.allowed, false, p)
  }
  assert.equal(Policy.parse('(!= subject.marker "x")').decide(odd, resource).allowed, true)
})

test('numbers of several digits on either side of the point are numbers', () => {
  const n: Subject = { identifier: 'Iabc', hasCredential: true, attributes: { big: '1234', fine: '12.75', tiny: '0.125' } }
  for (const [p, want] of [['(> subject.big 1233)', true], ['(< subject.big 1235)', true], ['(> subject.fine 12.7)', true], ['(< subject.fine 12.8)', true], ['(< subject.tiny 0.13)', true], ['(> subject.tiny 0.12)', true]] as const) {
    assert.equal(Policy.parse(p).decide(n, resource).allowed, want, p)
  }
})
