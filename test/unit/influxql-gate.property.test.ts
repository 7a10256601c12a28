import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { checkInfluxQL, namedDatabases, statements, StatementRefusedError } from '../../src/influxdb/gate/influxql-gate.js'
import { InfluxQLScanner, InfluxQLSyntaxError, KEYWORDS } from '../../src/influxdb/gate/influxql-scanner.js'

const scope = { mayRead: (db: string) => db === 'device-1' }
const refused = (q: string): boolean => {
  try {
    checkInfluxQL(q, scope)
    return false
  } catch (err) {
    if (err instanceof StatementRefusedError || err instanceof InfluxQLSyntaxError) return true
    throw err
  }
}

test('the continuous query that copied another database is refused, and so is every statement but SELECT and schema SHOW', () => {
  for (const q of [
    'CREATE CONTINUOUS QUERY cq1 ON "device-1" BEGIN SELECT max(salary) INTO "device-1"."autogen"."stolen" FROM "secret"."autogen"."payroll" GROUP BY time(1s) END',
    'SELECT * INTO "device-1"."autogen"."copy" FROM "device-1"."autogen"."m"', 'SELECT * INTO copy FROM m', 'DROP DATABASE "device-1"',
    'DELETE FROM m', 'DROP MEASUREMENT m', 'DROP SERIES FROM m', 'CREATE DATABASE x', 'CREATE USER u WITH PASSWORD \'p\' WITH ALL PRIVILEGES',
    'GRANT ALL TO u', 'REVOKE ALL FROM u', 'SET PASSWORD FOR u = \'p\'', 'KILL QUERY 1', 'SHOW USERS', 'SHOW GRANTS FOR u', 'SHOW QUERIES',
    'SHOW STATS', 'SHOW DIAGNOSTICS', 'SHOW SHARDS', 'SHOW SUBSCRIPTIONS', 'SHOW CONTINUOUS QUERIES', 'ALTER RETENTION POLICY autogen ON "device-1" DURATION 1h',
    'EXPLAIN ANALYZE SELECT * FROM m', 'SELECT * FROM "secret"."autogen"."payroll"', 'SELECT * FROM secret..payroll', 'SELECT * FROM secret.autogen./.*/',
    'SELECT * FROM (SELECT * FROM secret..payroll)', 'SHOW MEASUREMENTS ON secret', 'SHOW RETENTION POLICIES ON "secret"', 'SHOW TAG KEYS ON secret FROM m',
    'SELECT * FROM m; DROP DATABASE x', 'SELECT * FROM m WHERE a = $x', 'select * into x from m', 'SeLeCt * InTo x FrOm m',
    'SELECT * FROM m /* */', 'SELECT * FROM m WHERE a = \'unterminated', 'SELECT * FROM m\r', 'SELECT * FROM m WHERE (a = 1', '/ DROP'
  ]) assert.equal(refused(q), true, q)
})

test('what a read lease is for passes: SELECT and the schema SHOW statements on its own database', () => {
  for (const q of [
    'SELECT * FROM m', 'SELECT mean(v) FROM "device-1"."autogen"."m" WHERE time > now() - 1h GROUP BY time(1m) fill(null)',
    'SELECT * FROM "autogen"."m"', 'SELECT * FROM "device-1"..m', 'SELECT * FROM /cp.*/', 'SELECT * FROM "device-1".autogen./c\\/p/',
    'SELECT v / 2 FROM m WHERE host =~ /web-\\d+/', 'SELECT * FROM (SELECT max(v) AS v FROM m GROUP BY host)', 'SHOW DATABASES',
    'SHOW MEASUREMENTS', 'SHOW MEASUREMENTS ON "device-1"', 'SHOW TAG KEYS FROM m', 'SHOW TAG VALUES WITH KEY = "host"', 'SHOW FIELD KEYS',
    'SHOW SERIES', 'SHOW RETENTION POLICIES ON "device-1"', 'SHOW SERIES EXACT CARDINALITY', 'SELECT * FROM m WHERE t = \'; DROP DATABASE x; INTO\'',
    'SELECT "into" FROM m -- DROP DATABASE x', 'SELECT * FROM m; SHOW MEASUREMENTS;', 'SELECT v::field, t::tag FROM m', 'SELECT 1.5 + .5 FROM m'
  ]) assert.deepEqual(refused(q), false, q)
})

/** A name that may stand unquoted: no keyword. */
const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/).filter((w) => !KEYWORDS.has(w.toUpperCase()))
/** A keyword written with a random mix of cases. */
const anyCase = (w: string): fc.Arbitrary<string> => fc.array(fc.boolean(), { minLength: w.length, maxLength: w.length }).map((up) => [...w].map((c, i) => up[i] === true ? c.toUpperCase() : c.toLowerCase()).join(''))
const gap = fc.constantFrom(' ', '\t', '\n', '  ', ' -- c\n', '\n-- DROP\n', ' \t\n ')
const forbidden = fc.constantFrom(
  ['create', 'continuous', 'query', 'cq', 'on', '"device-1"', 'begin', 'select', 'max(v)', 'into', 'x', 'from', 'm', 'group', 'by', 'time(1s)', 'end'],
  ['select', '*', 'into', '"device-1"."autogen"."x"', 'from', 'm'], ['drop', 'database', '"device-1"'], ['delete', 'from', 'm'],
  ['select', '*', 'from', '"secret"."autogen"."payroll"'], ['select', '*', 'from', 'secret..payroll'], ['show', 'users'],
  ['grant', 'all', 'to', 'u'], ['show', 'measurements', 'on', 'secret'], ['select', '*', 'from', '(select', '*', 'from', 'secret..p)']
)

test('a forbidden statement is refused however it is written: case, whitespace, comments, and behind allowed ones', () => {
  fc.assert(fc.property(
    forbidden.chain((words) => fc.tuple(...words.map((w) => /^[a-z]+$/.test(w) ? anyCase(w) : fc.constant(w)))),
    fc.array(gap, { minLength: 20, maxLength: 20 }), fc.array(fc.constantFrom('SELECT * FROM m', 'SHOW DATABASES', 'SELECT v FROM "device-1"..m', ''), { maxLength: 3 }),
    (words, gaps, before) => {
      const statement = words.map((w, i) => `${w}${gaps[i] ?? ' '}`).join('')
      const q = [...before, statement].join(';\n')
      assert.equal(refused(q), true, q)
    }
  ), { numRuns: 500 })
})

test('what a string, a quoted name or a comment holds is never read as a statement: quoting round-trips', () => {
  const text = fc.string({ maxLength: 40 }).filter((s) => !s.includes('\n'))
  fc.assert(fc.property(text, text, (value, name) => {
    const quotedValue = `'${value.replaceAll('\\', '\\\\').replaceAll('\'', '\\\'')}'`
    const quotedName = `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
    const q = `SELECT ${quotedName} FROM m WHERE t = ${quotedValue} -- ${value}`
    const [tokens = []] = statements(q)
    assert.equal(tokens.find((t) => t.kind === 'string')?.text, value)
    assert.equal(tokens[1]?.text, name)
    assert.equal(refused(q), false)
  }), { numRuns: 500 })
})

test('a database named in any of InfluxQL\'s forms is found, and only the first part of a qualified source is one', () => {
  fc.assert(fc.property(word, word, word, fc.boolean(), (db, rp, m, quote) => {
    const q = (s: string): string => quote ? `"${s}"` : s
    const found = (text: string): string[] => namedDatabases(statements(text)[0] ?? [])
    assert.deepEqual(found(`SELECT * FROM ${q(db)}.${q(rp)}.${q(m)}`), [db])
    assert.deepEqual(found(`SELECT * FROM ${q(db)}..${q(m)}`), [db])
    assert.deepEqual(found(`SELECT * FROM ${q(db)}.${q(rp)}./${m}/`), [db])
    assert.deepEqual(found(`SHOW MEASUREMENTS ON ${q(db)}`), [db])
    assert.deepEqual(found(`SELECT * FROM ${q(rp)}.${q(m)}`), [])
  }), { numRuns: 300 })
})

test('the scanner takes any text without a crash: tokens, or a syntax error', () => {
  fc.assert(fc.property(fc.string({ maxLength: 200 }), fc.boolean(), (text, regexHere) => {
    const s = new InfluxQLScanner(text)
    try {
      for (let i = 0; i < 500 && s.next(regexHere) !== undefined; i++);
    } catch (err) {
      assert.ok(err instanceof InfluxQLSyntaxError, String(err))
    }
  }), { numRuns: 2000 })
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => {
    try {
      checkInfluxQL(text, scope)
    } catch (err) {
      assert.ok(err instanceof InfluxQLSyntaxError || err instanceof StatementRefusedError, String(err))
    }
  }), { numRuns: 2000 })
})

test('a `/` is a regex where a source or an operand may begin, and a division after an operand, as the server reads it', () => {
  const kinds = (q: string): string[] => (statements(q)[0] ?? []).map((t) => t.kind === 'op' ? t.text : t.kind)
  assert.deepEqual(kinds('SELECT a / b FROM m'), ['keyword', 'ident', '/', 'ident', 'keyword', 'ident'])
  assert.deepEqual(kinds('SELECT /a/ FROM /b/'), ['keyword', 'regex', 'keyword', 'regex'])
  // After a retention policy in FROM the server looks for a regex again: a string there would hide the rest.
  assert.deepEqual(kinds('SELECT * FROM autogen /\'/, x'), ['keyword', '*', 'keyword', 'ident', 'regex', ',', 'ident'])
  assert.deepEqual(kinds('SELECT * FROM m WHERE h =~ /a\\/b/'), ['keyword', '*', 'keyword', 'ident', 'keyword', 'ident', '=~', 'regex'])
  assert.throws(() => statements('SELECT * FROM m WHERE (/* \' */ a = 1); DROP DATABASE x; --\''), InfluxQLSyntaxError)
  assert.equal(refused('SELECT * FROM autogen /\'/, (SELECT * FROM secret..payroll) WHERE t = \'\''), true)
  assert.throws(() => checkInfluxQL('SELECT '.repeat(60_000), scope), InfluxQLSyntaxError)
  assert.throws(() => checkInfluxQL(`SELECT * FROM ${'('.repeat(100)}`, scope), InfluxQLSyntaxError)
})
