import { PorticoError, type ErrorKind } from '../../util/errors.js'
// InfluxQL's lexical rules as InfluxDB's own scanner applies them (influxdata/influxql scanner.go):
// the statement gate must see exactly the tokens the server will, or a statement could hide in
// what one side reads as a string, a comment or a regex and the other does not.

/** What the gate tells apart; everything else is an operator or punctuation token (`op`). */
export type TokenKind = 'ident' | 'keyword' | 'string' | 'number' | 'regex' | 'param' | 'op'

export interface Token {
  kind: TokenKind
  /** Identifiers: the name (quotes and escapes removed); keywords: upper case; strings and regexes: the content; ops: the symbol. */
  text: string
  /** Whitespace or a comment came right before it (the server reads some pairs only when adjacent). */
  spaced: boolean
}

/** The query is no valid InfluxQL: the server would refuse it, and so does the gate. */
export class InfluxQLSyntaxError extends PorticoError {
  override readonly code: string = 'influxql-syntax'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'InfluxQLSyntaxError'
}

/** InfluxQL's reserved words (token.go), so that a word is a keyword exactly where the server says. */
export const KEYWORDS = new Set([
  'ALL', 'ALTER', 'ANALYZE', 'ANY', 'AS', 'ASC', 'BEGIN', 'BY', 'CARDINALITY', 'CREATE', 'CONTINUOUS', 'DATABASE', 'DATABASES',
  'DEFAULT', 'DELETE', 'DESC', 'DESTINATIONS', 'DIAGNOSTICS', 'DISTINCT', 'DROP', 'DURATION', 'END', 'EVERY', 'EXACT', 'EXPLAIN',
  'FIELD', 'FOR', 'FROM', 'FUTURE', 'GRANT', 'GRANTS', 'GROUP', 'GROUPS', 'IN', 'INF', 'INSERT', 'INTO', 'KEY', 'KEYS', 'KILL',
  'LIMIT', 'MEASUREMENT', 'MEASUREMENTS', 'NAME', 'OFFSET', 'ON', 'ORDER', 'PASSWORD', 'PAST', 'POLICY', 'POLICIES', 'PRIVILEGES',
  'QUERIES', 'QUERY', 'READ', 'REPLICATION', 'RESAMPLE', 'RETENTION', 'REVOKE', 'SELECT', 'SERIES', 'SET', 'SHOW', 'SHARD',
  'SHARDS', 'SLIMIT', 'SOFFSET', 'STATS', 'SUBSCRIPTION', 'SUBSCRIPTIONS', 'TAG', 'TO', 'USER', 'USERS', 'VALUES', 'VERBOSE',
  'WHERE', 'WITH', 'WRITE', 'AND', 'OR', 'TRUE', 'FALSE'
])

const isLetter = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
const isDigit = (c: string): boolean => c >= '0' && c <= '9'
const isIdentChar = (c: string): boolean => isLetter(c) || isDigit(c) || c === '_'
/** Only these three: a carriage return is no whitespace to the server, and so an illegal character. */
const isWhitespace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n'

/** Two-character operators first, then one-character ones. */
const OPERATORS2 = new Set(['=~', '!=', '!~', '>=', '<=', '<>', '::'])
const OPERATORS1 = new Set(['+', '*', '%', '&', '|', '^', '=', '>', '<', '(', ')', ',', ';', ':', '.', '-', '/'])

/**
 * Reads a query one token at a time. Whether a `/` opens a regular expression depends on where the
 * parser stands, as in the server, so the caller says so for each token (`regexHere`).
 */
export class InfluxQLScanner {
  private i = 0

  constructor(private readonly src: string) {}

  /** The next significant token (whitespace and comments skipped), or undefined at the end. */
  next(regexHere: boolean): Token | undefined {
    let spaced = false
    for (;;) {
      const c = this.src[this.i]
      if (c === undefined) return undefined
      if (isWhitespace(c)) {
        this.i++
        spaced = true
      } else if (c === '-' && this.src[this.i + 1] === '-') {
        const nl = this.src.indexOf('\n', this.i)
        this.i = nl < 0 ? this.src.length : nl + 1
        spaced = true
      } else if (c === '/' && this.src[this.i + 1] === '*') {
        // Where the server looks for a regex, `/*…` is one (and no valid one); elsewhere a comment.
        // Either reading is refused: comments of this form are where the two could part.
        throw new InfluxQLSyntaxError('block comments (/* */) are not accepted')
      } else {
        return this.token(c, regexHere, spaced)
      }
    }
  }

  private token(c: string, regexHere: boolean, spaced: boolean): Token {
    if (isLetter(c) || c === '_' || c === '"') return this.ident(spaced, true)
    if (isDigit(c) || (c === '.' && isDigit(this.src[this.i + 1] ?? ''))) return { kind: 'number', text: this.number(), spaced }
    if (c === '\'') return { kind: 'string', text: this.quoted('\''), spaced }
    if (c === '$') {
      this.i++
      return { ...this.ident(spaced, false), kind: 'param' }
    }
    if (c === '/' && regexHere) return { kind: 'regex', text: this.regex(), spaced }
    const two = this.src.slice(this.i, this.i + 2)
    if (OPERATORS2.has(two)) {
      this.i += 2
      return { kind: 'op', text: two, spaced }
    }
    if (OPERATORS1.has(c)) {
      this.i++
      return { kind: 'op', text: c, spaced }
    }
    throw new InfluxQLSyntaxError(`unexpected character ${JSON.stringify(c)}`)
  }

  /** A bare or quoted identifier; a bare word followed at once by a quoted one is the quoted one, as in the server. */
  private ident(spaced: boolean, lookup: boolean): Token {
    let bare = ''
    for (;;) {
      const c = this.src[this.i]
      if (c === '"') return { kind: 'ident', text: this.quoted('"'), spaced }
      if (c === undefined || !isIdentChar(c)) break
      bare += c
      this.i++
    }
    const upper = bare.toUpperCase()
    if (lookup && KEYWORDS.has(upper)) return { kind: 'keyword', text: upper, spaced }
    return { kind: 'ident', text: bare, spaced }
  }

  /** A string or quoted identifier: only \n \\ \" \' escape; a new line or the end inside it is an error. */
  private quoted(end: string): string {
    let out = ''
    for (this.i++; ; this.i++) {
      const c = this.src[this.i]
      if (c === undefined || c === '\n') throw new InfluxQLSyntaxError('unterminated string or quoted identifier')
      if (c === end) {
        this.i++
        return out
      }
      if (c === '\\') {
        const e = this.src[++this.i]
        if (e === 'n') out += '\n'
        else if (e === '\\' || e === '"' || e === '\'') out += e
        else throw new InfluxQLSyntaxError('bad escape in a string or quoted identifier')
      } else out += c
    }
  }

  /** `/…/`: `\/` is a slash, any other backslash stays as it is; a new line or the end inside it is an error. */
  private regex(): string {
    let out = ''
    for (this.i++; ; this.i++) {
      const c = this.src[this.i]
      if (c === undefined || c === '\n') throw new InfluxQLSyntaxError('unterminated regular expression')
      if (c === '/') {
        this.i++
        return out
      }
      if (c === '\\' && this.src[this.i + 1] === '/') {
        out += '/'
        this.i++
      } else out += c
    }
  }

  /** Digits, an optional fraction, or a duration (digits then letters, µ, and digits). */
  private number(): string {
    const start = this.i
    while (isDigit(this.src[this.i] ?? '')) this.i++
    if (this.src[this.i] === '.') {
      if (isDigit(this.src[this.i + 1] ?? '')) {
        this.i++
        while (isDigit(this.src[this.i] ?? '')) this.i++
      } else {
        // The server reads `1.` as the number 1 and drops the full stop.
        this.i++
        return this.src.slice(start, this.i - 1)
      }
      return this.src.slice(start, this.i)
    }
    // A duration: the digits read so far, then units and more digits (`5m30s`); the next character,
    // not a digit, decides whether one follows.
    const durationChar = (ch: string): boolean => isLetter(ch) || ch === 'µ' || isDigit(ch)
    while (durationChar(this.src[this.i] ?? '')) this.i++
    return this.src.slice(start, this.i)
  }
}
