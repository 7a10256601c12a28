import { MAX_POLICY_LENGTH, PolicySyntaxError } from './ast.js'

export type Token =
  | { type: '(' | ')' | '[' | ']'; pos: number }
  | { type: 'string'; value: string; pos: number }
  | { type: 'word'; value: string; pos: number }

const DELIMITERS = new Set(['(', ')', '[', ']'])
const WORD_RE = /^[A-Za-z0-9_.\-?!=<>*/:@]+$/

/** Splits policy text into parentheses, brackets, quoted strings and words. */
export function tokenize(text: string): Token[] {
  if (text.length > MAX_POLICY_LENGTH) throw new PolicySyntaxError(`policy longer than ${MAX_POLICY_LENGTH} characters`, MAX_POLICY_LENGTH)
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text.charAt(i)
    if (/\s/.test(c)) {
      i++
    } else if (DELIMITERS.has(c)) {
      tokens.push({ type: c as '(' | ')' | '[' | ']', pos: i })
      i++
    } else if (c === '"') {
      const start = i
      let value = ''
      i++
      for (;;) {
        if (i >= text.length) throw new PolicySyntaxError('unterminated string', start)
        const d = text.charAt(i)
        if (d === '"') break
        if (d === '\\') {
          const e = text.charAt(i + 1)
          if (e !== '"' && e !== '\\') throw new PolicySyntaxError('only \\" and \\\\ escapes are allowed', i)
          value += e
          i += 2
        } else {
          value += d
          i++
        }
      }
      i++
      tokens.push({ type: 'string', value, pos: start })
    } else {
      const start = i
      while (i < text.length && !/\s/.test(text.charAt(i)) && !DELIMITERS.has(text.charAt(i)) && text.charAt(i) !== '"') i++
      const value = text.slice(start, i)
      if (!WORD_RE.test(value)) throw new PolicySyntaxError(`unexpected characters in '${value.slice(0, 40)}'`, start)
      tokens.push({ type: 'word', value, pos: start })
    }
  }
  return tokens
}
