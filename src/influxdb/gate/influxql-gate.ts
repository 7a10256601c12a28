import { InfluxQLScanner, InfluxQLSyntaxError, type Token } from './influxql-scanner.js'
import { PorticoError, type ErrorKind } from '../../util/errors.js'

/** A query longer than this is refused before it is read. */
export const MAX_QUERY_CHARS = 256 * 1024
/** Statements in one query; more are refused. */
export const MAX_STATEMENTS = 100
/** Nesting of parentheses (subqueries, calls); deeper is refused. */
export const MAX_DEPTH = 64

/** Which databases a lease may read. */
export interface ReadScope {
  mayRead(database: string): boolean
}

/** A statement the lease does not allow: it names the statement kind, never the query. */
export class StatementRefusedError extends PorticoError {
  override readonly code: string = 'statement-refused'
  override readonly kind: ErrorKind = 'refused'
  override name = 'StatementRefusedError'
  constructor(readonly statement: string, message: string) {
    super(message)
  }
}

/**
 * The SHOW statements a read lease may run, by their leading keywords (so `SERIES` also admits
 * SHOW SERIES CARDINALITY and SHOW SERIES EXACT CARDINALITY, `TAG VALUES` their like): each reads
 * the schema of one database (named by ON or the request's `db`) or, for SHOW DATABASES, lists only
 * what the user may read. SHOW USERS, GRANTS, QUERIES (other users' query texts), STATS,
 * DIAGNOSTICS, SHARDS, SUBSCRIPTIONS and CONTINUOUS QUERIES tell of other databases or the server,
 * and are refused.
 */
const READ_SHOWS = [
  'DATABASES', 'MEASUREMENTS', 'MEASUREMENT CARDINALITY', 'MEASUREMENT EXACT CARDINALITY', 'SERIES', 'TAG KEYS', 'TAG KEY CARDINALITY',
  'TAG KEY EXACT CARDINALITY', 'TAG VALUES', 'FIELD KEYS', 'FIELD KEY CARDINALITY', 'FIELD KEY EXACT CARDINALITY', 'RETENTION POLICIES'
].map((s) => s.split(' '))

/** The most keywords a statement kind's name takes: the longest, `SHOW TAG VALUES EXACT CARDINALITY`, has five. */
export const MAX_KIND_WORDS = 5

/** Keywords that end a statement kind's name in messages. */
const NAME_STOPS = new Set(['FROM', 'ON', 'WHERE', 'WITH', 'INTO', 'LIMIT', 'TO', 'AS'])

const isOperandEnd = (t: Token, before: Token | undefined): boolean =>
  t.kind === 'ident' || t.kind === 'string' || t.kind === 'number' || t.kind === 'regex' || t.kind === 'param' ||
  (t.kind === 'keyword' && (t.text === 'TRUE' || t.text === 'FALSE' || before?.text === '::')) ||
  (t.kind === 'op' && (t.text === ')' || t.text === '*'))

/**
 * Splits a query into statements of significant tokens, deciding at each `/` whether it opens a
 * regex as the server's parser does: a regex wherever an operand may begin or a source is read
 * (after FROM until the next keyword), a division only right after an operand.
 */
export function statements(query: string): Token[][] {
  if (query.length > MAX_QUERY_CHARS) throw new InfluxQLSyntaxError(`query longer than ${MAX_QUERY_CHARS} characters`)
  const scanner = new InfluxQLScanner(query)
  const out: Token[][] = []
  let current: Token[] = []
  /** Whether each open parenthesis level (the first is the statement) is reading sources. */
  const fromAt: boolean[] = [false]
  for (;;) {
    const prev = current[current.length - 1]
    const inFrom = fromAt[fromAt.length - 1] === true
    const t = scanner.next(prev !== undefined && (inFrom || !isOperandEnd(prev, current[current.length - 2])))
    if (t === undefined) break
    if (t.kind === 'keyword') fromAt[fromAt.length - 1] = t.text === 'FROM'
    else if (t.text === '(' && t.kind === 'op') {
      if (fromAt.length >= MAX_DEPTH) throw new InfluxQLSyntaxError(`parentheses nested deeper than ${MAX_DEPTH}`)
      fromAt.push(false)
    } else if (t.text === ')' && t.kind === 'op') {
      if (fromAt.length === 1) throw new InfluxQLSyntaxError('unbalanced parentheses')
      fromAt.pop()
    } else if (t.text === ';' && t.kind === 'op') {
      if (fromAt.length !== 1) throw new InfluxQLSyntaxError('unbalanced parentheses')
      fromAt[0] = false
      if (current.length > 0) out.push(current)
      if (out.length > MAX_STATEMENTS) throw new InfluxQLSyntaxError(`more than ${MAX_STATEMENTS} statements`)
      current = []
      continue
    }
    current.push(t)
  }
  if (fromAt.length !== 1) throw new InfluxQLSyntaxError('unbalanced parentheses')
  if (current.length > 0) out.push(current)
  if (out.length > MAX_STATEMENTS) throw new InfluxQLSyntaxError(`more than ${MAX_STATEMENTS} statements`)
  return out
}

/** The statement's kind as people name it: its leading keywords (`CREATE CONTINUOUS QUERY`, `SHOW USERS`). */
export function statementKind(tokens: readonly Token[]): string {
  const words: string[] = []
  for (const t of tokens) {
    if (t.kind !== 'keyword' || (words.length > 0 && NAME_STOPS.has(t.text)) || words.length === MAX_KIND_WORDS) break
    words.push(t.text)
  }
  return words.length === 0 ? (tokens[0]?.text ?? '').slice(0, 32) || 'empty statement' : words.join(' ')
}

function isAllowedShow(tokens: readonly Token[]): boolean {
  return READ_SHOWS.some((phrase) => phrase.every((w, i) => { const t = tokens[i + 1]; return t?.kind === 'keyword' && t.text === w }))
}

/**
 * The databases a statement names itself: after ON, and the first part of a source or variable
 * written `db.rp.m`, `db..m` or `db.rp./regex/`. A name read as a database that is none (a field
 * written in three parts) can only refuse a statement, never let one through.
 */
export function namedDatabases(tokens: readonly Token[]): string[] {
  const dbs: string[] = []
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]
    if (t === undefined) break
    if (t.kind === 'keyword' && t.text === 'ON') {
      const db = tokens[i + 1]
      if (db?.kind !== 'ident') throw new InfluxQLSyntaxError('ON must name a database')
      dbs.push(db.text)
      continue
    }
    if (t.kind !== 'ident' || tokens[i - 1]?.text === '.') continue
    // A chain: the server joins `a.b` only when the dot touches the first part; after a dot, an
    // adjacent dot is an empty part (`db..m`).
    let parts = 1
    let j = i + 1
    let regexAfter = false
    for (;;) {
      const dot = tokens[j]
      if (dot?.kind !== 'op' || dot.text !== '.' || (parts === 1 && dot.spaced)) break
      const part = tokens[j + 1]
      if (part?.kind === 'op' && part.text === '.') {
        parts++
        j++
        continue
      }
      if (part?.kind === 'regex') {
        regexAfter = true
        break
      }
      if (part?.kind !== 'ident') break
      parts++
      j += 2
    }
    if (!regexAfter && tokens[j]?.kind === 'regex') regexAfter = true
    if (parts >= 3 || (parts === 2 && regexAfter)) dbs.push(t.text)
  }
  return dbs
}

/**
 * Checks every statement of an InfluxQL query against a lease that may read `scope`: SELECT
 * without INTO and the schema SHOW statements, on databases the lease reads; nothing else
 * (no INTO, no continuous query, no DELETE or DROP, no admin statement). Bound parameters are
 * refused (whatever `params` the request carries), since the server may put an identifier in their place. Throws InfluxQLSyntaxError or
 * StatementRefusedError; returns the statement kinds.
 */
export function checkInfluxQL(query: string, scope: ReadScope): string[] {
  const kinds: string[] = []
  for (const tokens of statements(query)) {
    const kind = statementKind(tokens)
    const first = tokens[0]
    if (tokens.some((t) => t.kind === 'param')) throw new StatementRefusedError(kind, 'bound parameters ($name) are not accepted through this inlet')
    const isSelect = first?.kind === 'keyword' && first.text === 'SELECT'
    const isShow = first?.kind === 'keyword' && first.text === 'SHOW' && isAllowedShow(tokens)
    if (!isSelect && !isShow) throw new StatementRefusedError(kind, `${kind} is not allowed through this inlet: a lease may run SELECT and the schema SHOW statements only`)
    if (tokens.some((t) => t.kind === 'keyword' && t.text === 'INTO')) throw new StatementRefusedError('SELECT INTO', 'SELECT INTO is not allowed through this inlet: it writes with the server\'s authority')
    for (const db of namedDatabases(tokens)) {
      if (!scope.mayRead(db)) throw new StatementRefusedError(kind, `${kind} names database '${db.slice(0, 64)}', which this lease may not read`)
    }
    kinds.push(kind)
  }
  return kinds
}
