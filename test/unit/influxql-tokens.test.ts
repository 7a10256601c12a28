import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkInfluxQL, MAX_DEPTH, MAX_QUERY_CHARS, MAX_STATEMENTS, namedDatabases, statementKind, statements } from '../../src/influxdb/gate/influxql-gate.js'
import { InfluxQLScanner, InfluxQLSyntaxError } from '../../src/influxdb/gate/influxql-scanner.js'

// The gate's reading of InfluxQL pinned token by token, where the mutation run found it untested:
// which tokens end an operand (a `/` after them divides), every operator, numbers and durations,
// the statement kinds named in refusals, and database names in qualified chains.

const kinds = (q: string): string[] => (statements(q)[0] ?? []).map((t) => t.kind === 'op' ? t.text : t.kind)
const scope = { mayRead: (db: string) => db === 'mine' }
const passes = (q: string): boolean => { try { checkInfluxQL(q, scope); return true } catch { return false } }

test('after every kind of operand a `/` divides; where an operand may begin it opens a regex', () => {
  for (const [operand, kind] of [["'s'", 'string'], ['2', 'number'], ['2.5', 'number'], ['1h', 'number'], ['a', 'ident'], ['"a b"', 'ident'], ['true', 'keyword'], ['false', 'keyword'], ['(a)', ')'], ['*', '*']] as const) {
    const k = kinds(`SELECT ${operand} / 2 FROM m`)
    assert.equal(k.at(-5), kind, operand)
    assert.equal(k.at(-4), '/', `${operand}: division expected, got ${k.join(' ')}`)
  }
  assert.deepEqual(kinds('SELECT a::field / 2 FROM m').slice(1, 5), ['ident', '::', 'keyword', '/'])
  assert.deepEqual(kinds('SELECT a::tag / 2 FROM m').slice(3, 5), ['keyword', '/'])
  assert.deepEqual(kinds('SELECT a FROM m WHERE b =~ /x/ AND c !~ /y/'), ['keyword', 'ident', 'keyword', 'ident', 'keyword', 'ident', '=~', 'regex', 'keyword', 'ident', '!~', 'regex'])
  assert.deepEqual(kinds('SELECT count(/x/), /y/ FROM m GROUP BY /z/'), ['keyword', 'ident', '(', 'regex', ')', ',', 'regex', 'keyword', 'ident', 'keyword', 'keyword', 'regex'])
})

test('every operator reads as one, so ordinary expressions are never refused', () => {
  assert.deepEqual(kinds('SELECT a + b - c * d / e % f & g | h ^ i FROM m WHERE a = 1 AND b != 2 AND c <> 3 AND d >= 4 AND e <= 5 AND f > 6 AND g < 7').filter((k) => k.length <= 2 && !/^[a-z]/.test(k)),
    ['+', '-', '*', '/', '%', '&', '|', '^', '=', '!=', '<>', '>=', '<=', '>', '<'])
  assert.equal(passes('SELECT a % 2, a & 1, a | 1, a ^ 1 FROM m WHERE a <> 1 AND b != 2'), true)
  assert.equal(passes('SELECT mean(v) FROM m WHERE time > now() - 5m30s AND time < now() - 1µs GROUP BY time(10s)'), true)
  assert.equal(passes('SELECT a FROM m\tWHERE\nb = 1'), true, 'tab and newline are whitespace')
  assert.equal(passes('SELECT a FROM m WHERE b = 1 -- ; DROP DATABASE x'), true)
  assert.equal(passes('SELECT a FROM m WHERE b = 1 -\n- 2'), true, 'a lone minus is no comment')
})

test('numbers and durations: digits, fractions, leading dots, durations with units and digits', () => {
  const texts = (q: string): string[] => { const s = new InfluxQLScanner(q); const out: string[] = []; for (let t = s.next(false); t !== undefined; t = s.next(false)) out.push(`${t.kind}:${t.text}`); return out }
  assert.deepEqual(texts('12 3.25 .5 1h 5m30s 10µs 7'), ['number:12', 'number:3.25', 'number:.5', 'number:1h', 'number:5m30s', 'number:10µs', 'number:7'])
  assert.deepEqual(texts('1.x'), ['number:1', 'ident:x'])
  assert.deepEqual(texts('a.5'), ['ident:a', 'number:.5'])
  assert.deepEqual(texts('$p'), ['param:p'])
})

test('refusals name the statement kind by its leading keywords, stopping where its objects begin', () => {
  const kind = (q: string): string => statementKind(statements(q)[0] ?? [])
  assert.equal(kind('CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT * INTO x FROM m END'), 'CREATE CONTINUOUS QUERY')
  assert.equal(kind('DROP DATABASE x'), 'DROP DATABASE')
  assert.equal(kind('DELETE FROM m WHERE a = 1'), 'DELETE')
  assert.equal(kind('SHOW RETENTION POLICIES ON db'), 'SHOW RETENTION POLICIES')
  assert.equal(kind('GRANT ALL TO u'), 'GRANT ALL')
  assert.equal(kind('REVOKE READ ON db FROM u'), 'REVOKE READ')
  assert.equal(kind('SELECT a AS b FROM m'), 'SELECT')
  assert.equal(kind('SHOW TAG VALUES WITH KEY = "k"'), 'SHOW TAG VALUES')
  assert.equal(kind('SHOW SERIES EXACT CARDINALITY ON x'), 'SHOW SERIES EXACT CARDINALITY')
  assert.equal(kind('foo bar'), 'foo')
  assert.throws(() => checkInfluxQL('DROP DATABASE x', scope), /DROP DATABASE is not allowed/)
})

test('database names in qualified chains, and only there', () => {
  const dbs = (q: string): string[] => namedDatabases(statements(q)[0] ?? [])
  assert.deepEqual(dbs('SELECT * FROM d.r.m, d2..m2, d3.r./x/, r.m, m'), ['d', 'd2', 'd3'])
  assert.deepEqual(dbs('SELECT * FROM d .r.m'), [], 'a dot after a space does not join: no chain (the server refuses it)')
  assert.deepEqual(dbs('SELECT * FROM r./x/'), [], 'one part and a regex: a retention policy')
  assert.deepEqual(dbs('SELECT * FROM d.r. m'), ['d'])
  assert.deepEqual(dbs('SELECT * FROM r.m /x/'), ['r'], 'two parts with a regex after them: the first is a database')
  assert.deepEqual(dbs('SELECT * FROM (SELECT * FROM d.r.m), m'), ['d'])
  assert.deepEqual(dbs('SHOW MEASUREMENTS ON d WITH MEASUREMENT =~ /x/'), ['d'])
  assert.equal(passes('SELECT * FROM mine.autogen.m'), true)
  assert.equal(passes('SELECT * FROM other.autogen.m'), false)
  assert.throws(() => checkInfluxQL('SHOW MEASUREMENTS ON', scope), /ON must name a database/)
  assert.deepEqual(statements(';;SELECT a FROM m;;').length, 1, 'empty statements are not statements')
})

test('the gate\'s limits hold exactly at their bounds, and each refusal says which', () => {
  const long = `SELECT * FROM m WHERE t = '${'x'.repeat(MAX_QUERY_CHARS - 28)}'`
  assert.equal(long.length, MAX_QUERY_CHARS)
  assert.deepEqual(checkInfluxQL(long, scope), ['SELECT'])
  assert.throws(() => checkInfluxQL(`${long} `, scope), (e: Error) => e instanceof InfluxQLSyntaxError && e.message === `query longer than ${MAX_QUERY_CHARS} characters`)
  const nested = (n: number): string => `SELECT ${'('.repeat(n)}v${')'.repeat(n)} FROM m`
  assert.deepEqual(checkInfluxQL(nested(MAX_DEPTH - 1), scope), ['SELECT'])
  assert.throws(() => checkInfluxQL(nested(MAX_DEPTH), scope), (e: Error) => e instanceof InfluxQLSyntaxError && e.message === `parentheses nested deeper than ${MAX_DEPTH}`)
  const many = (n: number, end: string): string => Array.from({ length: n }, () => 'SELECT * FROM m').join('; ') + end
  for (const end of ['', ';']) {
    assert.equal(checkInfluxQL(many(MAX_STATEMENTS, end), scope).length, MAX_STATEMENTS)
    assert.throws(() => checkInfluxQL(many(MAX_STATEMENTS + 1, end), scope), (e: Error) => e instanceof InfluxQLSyntaxError && e.message === `more than ${MAX_STATEMENTS} statements`)
  }
  for (const q of ['SELECT v) FROM m', ') SELECT * FROM m', 'SELECT (v FROM m; SELECT v) FROM m', 'SELECT (v FROM m']) {
    assert.throws(() => checkInfluxQL(q, scope), (e: Error) => e instanceof InfluxQLSyntaxError && e.message === 'unbalanced parentheses', q)
  }
})

test('only tokens of the right kind count: a paren, a semicolon, INTO or ON inside a string or quoted name is text', () => {
  for (const q of ["SELECT * FROM m WHERE t = '('", "SELECT * FROM m WHERE t = ')'", "SELECT * FROM m WHERE t = 'INTO'", 'SELECT "INTO" FROM m', 'SELECT * FROM m WHERE "ON" = \'x\'', "SELECT * FROM m WHERE t = ';'"]) {
    assert.deepEqual(checkInfluxQL(q, scope), ['SELECT'], q)
  }
  // A SHOW is allowed by its keywords, not by names that read like them.
  for (const q of ['SHOW "MEASUREMENTS"', 'SHOW USERS KEYS', 'SHOW SHARDS MEASUREMENTS', '"SELECT" * FROM m']) assert.equal(passes(q), false, q)
  assert.deepEqual(checkInfluxQL('SELECT * FROM m; SHOW TAG KEYS ON mine', scope), ['SELECT', 'SHOW TAG KEYS'])
})
