import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkInfluxQL, MAX_KIND_WORDS, namedDatabases, StatementRefusedError, statementKind, statements } from '../../src/influxdb/gate/influxql-gate.js'
import { InfluxQLScanner, InfluxQLSyntaxError } from '../../src/influxdb/gate/influxql-scanner.js'

// The InfluxQL gate against the server's own rules, where the second mutation run found them
// unpinned: InfluxQL's reserved words, every schema SHOW a read lease may run, the errors callers
// act on, and the lexical corners (comments, escapes, names of several parts) where a reading that
// parts from the server's could hide a database.

const scope = { mayRead: (db: string) => db === 'mine' }
const passes = (q: string): boolean => { try { checkInfluxQL(q, scope); return true } catch { return false } }
const kinds = (q: string): string[] => (statements(q)[0] ?? []).map((t) => t.kind === 'op' ? t.text : t.kind)
const dbs = (q: string): string[] => namedDatabases(statements(q)[0] ?? [])
const texts = (q: string): string[] => { const s = new InfluxQLScanner(q); const out: string[] = []; for (let t = s.next(true); t !== undefined; t = s.next(true)) out.push(`${t.kind}:${t.text}`); return out }

/**
 * The words InfluxDB 1.x reserves (influxql's token.go: its keywords, AND, OR, IN, TRUE and FALSE),
 * written out rather than imported: a test that read the scanner's own set could not tell a word
 * missing from it.
 */
const SERVER_KEYWORDS = [
  'ALL', 'ALTER', 'ANALYZE', 'ANY', 'AS', 'ASC', 'BEGIN', 'BY', 'CARDINALITY', 'CREATE', 'CONTINUOUS', 'DATABASE', 'DATABASES',
  'DEFAULT', 'DELETE', 'DESC', 'DESTINATIONS', 'DIAGNOSTICS', 'DISTINCT', 'DROP', 'DURATION', 'END', 'EVERY', 'EXACT', 'EXPLAIN',
  'FIELD', 'FOR', 'FROM', 'FUTURE', 'GRANT', 'GRANTS', 'GROUP', 'GROUPS', 'IN', 'INF', 'INSERT', 'INTO', 'KEY', 'KEYS', 'KILL',
  'LIMIT', 'MEASUREMENT', 'MEASUREMENTS', 'NAME', 'OFFSET', 'ON', 'ORDER', 'PASSWORD', 'PAST', 'POLICY', 'POLICIES', 'PRIVILEGES',
  'QUERIES', 'QUERY', 'READ', 'REPLICATION', 'RESAMPLE', 'RETENTION', 'REVOKE', 'SELECT', 'SERIES', 'SET', 'SHOW', 'SHARD',
  'SHARDS', 'SLIMIT', 'SOFFSET', 'STATS', 'SUBSCRIPTION', 'SUBSCRIPTIONS', 'TAG', 'TO', 'USER', 'USERS', 'VALUES', 'VERBOSE',
  'WHERE', 'WITH', 'WRITE', 'AND', 'OR', 'TRUE', 'FALSE'
]

test('every word the server reserves is a keyword in any case; any other word, with any letter, is a name', () => {
  for (const k of SERVER_KEYWORDS) {
    for (const written of [k, k.toLowerCase(), k[0] + k.slice(1).toLowerCase()]) assert.deepEqual(texts(written), [`keyword:${k}`], written)
  }
  assert.deepEqual(texts('cpu Zeta zeta _v a_Z9 Az'), ['ident:cpu', 'ident:Zeta', 'ident:zeta', 'ident:_v', 'ident:a_Z9', 'ident:Az'])
  assert.deepEqual(checkInfluxQL('SELECT _v, Zeta FROM ZZ', scope), ['SELECT'])
})

test('every schema SHOW a read lease may run passes, named in full; the others are refused', () => {
  const allowed: [string, string][] = [
    ['SHOW DATABASES', 'SHOW DATABASES'],
    ['SHOW MEASUREMENTS ON mine LIMIT 10', 'SHOW MEASUREMENTS'],
    ['SHOW MEASUREMENT CARDINALITY ON mine', 'SHOW MEASUREMENT CARDINALITY'],
    ['SHOW MEASUREMENT EXACT CARDINALITY ON mine', 'SHOW MEASUREMENT EXACT CARDINALITY'],
    ['SHOW SERIES ON mine', 'SHOW SERIES'],
    ['SHOW SERIES CARDINALITY ON mine', 'SHOW SERIES CARDINALITY'],
    ['SHOW SERIES EXACT CARDINALITY ON mine', 'SHOW SERIES EXACT CARDINALITY'],
    ['SHOW TAG KEYS ON mine', 'SHOW TAG KEYS'],
    ['SHOW TAG KEY CARDINALITY ON mine', 'SHOW TAG KEY CARDINALITY'],
    ['SHOW TAG KEY EXACT CARDINALITY ON mine', 'SHOW TAG KEY EXACT CARDINALITY'],
    ['SHOW TAG VALUES ON mine WITH KEY = "host"', 'SHOW TAG VALUES'],
    ['SHOW TAG VALUES CARDINALITY ON mine WITH KEY = "host"', 'SHOW TAG VALUES CARDINALITY'],
    ['SHOW TAG VALUES EXACT CARDINALITY ON mine WITH KEY = "host"', 'SHOW TAG VALUES EXACT CARDINALITY'],
    ['SHOW FIELD KEYS ON mine', 'SHOW FIELD KEYS'],
    ['SHOW FIELD KEY CARDINALITY ON mine', 'SHOW FIELD KEY CARDINALITY'],
    ['SHOW FIELD KEY EXACT CARDINALITY ON mine', 'SHOW FIELD KEY EXACT CARDINALITY'],
    ['SHOW RETENTION POLICIES ON mine', 'SHOW RETENTION POLICIES']
  ]
  for (const [q, kind] of allowed) {
    assert.deepEqual(checkInfluxQL(q, scope), [kind], q)
    assert.equal(passes(q.replace(' ON mine', ' ON other')), q === 'SHOW DATABASES', `${q} on another database`)
  }
  for (const q of ['SHOW USERS', 'SHOW GRANTS FOR u', 'SHOW QUERIES', 'SHOW STATS', 'SHOW DIAGNOSTICS', 'SHOW SHARDS', 'SHOW SHARD GROUPS', 'SHOW SUBSCRIPTIONS', 'SHOW CONTINUOUS QUERIES', 'SHOW', 'SHOW TAG', '"SHOW" DATABASES']) {
    assert.throws(() => checkInfluxQL(q, scope), StatementRefusedError, q)
  }
})

test('refusals are errors of stable codes that name the statement, never more of the query than a bound', () => {
  const refusal = (q: string): StatementRefusedError => {
    try {
      checkInfluxQL(q, scope)
    } catch (err) {
      assert.ok(err instanceof StatementRefusedError, `${q}: ${String(err)}`)
      return err
    }
    throw new Error(`${q} passed`)
  }
  const drop = refusal('DROP DATABASE mine')
  assert.deepEqual([drop.code, drop.kind, drop.name, drop.statement], ['statement-refused', 'refused', 'StatementRefusedError', 'DROP DATABASE'])
  const into = refusal('SELECT * INTO mine.autogen.copy FROM m')
  assert.equal(into.statement, 'SELECT INTO')
  assert.match(into.message, /^SELECT INTO is not allowed through this inlet: it writes with the server's authority$/)
  assert.match(refusal('SELECT * FROM m WHERE a = $a').message, /^bound parameters \(\$name\) are not accepted through this inlet$/)
  const far = refusal(`SELECT * FROM ${'o'.repeat(100)}.autogen.m`)
  assert.equal(far.message, `SELECT names database '${'o'.repeat(64)}', which this lease may not read`)
  assert.equal(refusal(`"${'n'.repeat(40)}" x`).statement, 'n'.repeat(32))
  // Where a kind's name ends: at the first keyword that begins its objects or clauses.
  assert.equal(statementKind(statements('DELETE WHERE time < 0')[0] ?? []), 'DELETE')
  assert.equal(statementKind(statements('INSERT INTO autogen cpu value=1')[0] ?? []), 'INSERT')
  assert.deepEqual(checkInfluxQL('SHOW MEASUREMENTS LIMIT 10', scope), ['SHOW MEASUREMENTS'])
  assert.equal(refusal('DROP ALL ANY ASC BEGIN BY DESC').statement, 'DROP ALL ANY ASC BEGIN', `at most ${MAX_KIND_WORDS} words`)
  let syntax: unknown
  try { checkInfluxQL('SELECT # FROM m', scope) } catch (err) { syntax = err }
  assert.ok(syntax instanceof InfluxQLSyntaxError)
  assert.deepEqual([syntax.code, syntax.kind, syntax.name, syntax.message], ['influxql-syntax', 'bad-input', 'InfluxQLSyntaxError', 'unexpected character "#"'])
})

test('operators read as the server reads them: a `/` after a regex or a parameter divides, inside parentheses too', () => {
  assert.deepEqual(kinds('SELECT /x/ / 2 FROM m').slice(1, 4), ['regex', '/', 'number'])
  assert.deepEqual(kinds('SELECT $p / 2 FROM m').slice(1, 4), ['param', '/', 'number'])
  assert.deepEqual(kinds('SELECT (v / 2) FROM m').slice(1, 6), ['(', 'ident', '/', 'number', ')'])
  assert.deepEqual(texts(': :: .'), ['op::', 'op:::', 'op:.'])
  // A regex where a field may begin (after SELECT, after an operator): its dots join no name.
  assert.deepEqual(dbs('SELECT /a.b.c/ FROM m WHERE host =~ /x.y.z/'), [])
  assert.equal(passes('SELECT /other.autogen.m/ FROM m'), true)
})

test('comments, strings and regexes end where the server ends them, and what follows them is read', () => {
  assert.deepEqual(kinds('SELECT a FROM m -- c'), ['keyword', 'ident', 'keyword', 'ident'])
  assert.deepEqual(kinds('SELECT a FROM m -- c\nWHERE b = 1'), ['keyword', 'ident', 'keyword', 'ident', 'keyword', 'ident', '=', 'number'])
  // A comment counts as space: a dot after it joins no name, as in the server.
  assert.deepEqual(dbs('SELECT * FROM other-- c\n.autogen.m'), [])
  assert.throws(() => checkInfluxQL('SELECT a FROM m /* c */', scope), { message: 'block comments (/* */) are not accepted' })
  assert.deepEqual(texts("'a\\nb' 'q\\'s' \"d\\\"q\" 'b\\\\s'"), ['string:a\nb', "string:q's", 'ident:d"q', 'string:b\\s'])
  assert.throws(() => texts("'\\q'"), { message: 'bad escape in a string or quoted identifier' })
  for (const q of ["'a\nb'", "'open", '"open']) assert.throws(() => texts(q), { message: 'unterminated string or quoted identifier' }, q)
  assert.deepEqual(texts('/ab/ /a\\/b/ /a\\.b/'), ['regex:ab', 'regex:a/b', 'regex:a\\.b'])
  for (const q of ['/a\nb/', '/open']) assert.throws(() => texts(q), { message: 'unterminated regular expression' }, q)
  assert.deepEqual(statements("SELECT * FROM m WHERE t = ';'")[0]?.at(-1), { kind: 'string', text: ';', spaced: true })
})

test('names of several parts: spaces after the first dot still join, an empty or quoted part counts, a name cut short names nothing', () => {
  assert.deepEqual(dbs('SELECT * FROM d.r .m'), ['d'])
  assert.equal(passes('SELECT * FROM other.autogen .m'), false)
  assert.deepEqual(dbs('SELECT * FROM other.".".m'), ['other'])
  assert.equal(passes('SELECT * FROM other.".".m'), false)
  for (const q of ['SELECT * FROM m.', 'SELECT * FROM d.r.', 'SELECT * FROM d..']) assert.doesNotThrow(() => dbs(q), q)
  assert.throws(() => checkInfluxQL('SELECT v) FROM (m', scope), { message: 'unbalanced parentheses' })
})
