import { MAX_POLICY_DEPTH, PolicySyntaxError, type Expr } from './ast.js'
import type { Token } from './tokenizer.js'

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/
const KEYWORDS = new Set(['and', 'or', 'not'])

/**
 * The boolean shorthand: `influxdb-inlet and not beta`. A bare name means the subject has that
 * attribute set to "true"; `not` binds tighter than `and`, which binds tighter than `or`.
 */
export function parseShorthand(tokens: readonly Token[]): Expr {
  let i = 0
  const peekWord = (): string | undefined => {
    const t = tokens[i]
    return t?.type === 'word' ? t.value : undefined
  }
  const or = (depth: number): Expr => {
    const items = [and(depth)]
    while (peekWord() === 'or') {
      i++
      items.push(and(depth))
    }
    return items.length === 1 ? items[0] as Expr : { kind: 'call', op: 'or', args: items }
  }
  const and = (depth: number): Expr => {
    const items = [not(depth)]
    while (peekWord() === 'and') {
      i++
      items.push(not(depth))
    }
    return items.length === 1 ? items[0] as Expr : { kind: 'call', op: 'and', args: items }
  }
  const not = (depth: number): Expr => {
    const t = tokens[i]
    if (t === undefined) throw new PolicySyntaxError('unexpected end of policy', tokens.at(-1)?.pos ?? 0)
    if (depth > MAX_POLICY_DEPTH) throw new PolicySyntaxError(`nesting deeper than ${MAX_POLICY_DEPTH}`, t.pos)
    i++
    if (t.type === 'word' && t.value === 'not') return { kind: 'call', op: 'not', args: [not(depth + 1)] }
    if (t.type === '(') {
      const inner = or(depth + 1)
      const close = tokens[i++]
      if (close?.type !== ')') throw new PolicySyntaxError('missing )', close?.pos ?? t.pos)
      return inner
    }
    if (t.type === 'word' && NAME_RE.test(t.value) && !KEYWORDS.has(t.value)) {
      return { kind: 'call', op: '=', args: [{ kind: 'ident', name: `subject.${t.value}` }, { kind: 'string', value: 'true' }] }
    }
    throw new PolicySyntaxError(`expected an attribute name, 'not' or '('`, t.pos)
  }
  const result = or(0)
  const extra = tokens[i]
  if (extra !== undefined) throw new PolicySyntaxError(`expected 'and' or 'or'`, extra.pos)
  return result
}
