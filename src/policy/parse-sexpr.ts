import { isOperator, MAX_POLICY_DEPTH, PolicySyntaxError, type Expr } from './ast.js'
import type { Token } from './tokenizer.js'

const NUMBER_RE = /^-?\d+(\.\d+)?$/
const NAME_RE = /^(subject|resource|action)\.[A-Za-z0-9_.-]+$/

/** Ockam-style S-expressions: `(and (= subject.role "device") (member? subject.site ["a" "b"]))`. */
export function parseSexpr(tokens: readonly Token[]): Expr {
  let i = 0
  const next = (): Token => {
    const t = tokens[i++]
    if (t === undefined) throw new PolicySyntaxError('unexpected end of policy', tokens.at(-1)?.pos ?? 0)
    return t
  }
  const expr = (depth: number): Expr => {
    const t = next()
    if (depth > MAX_POLICY_DEPTH) throw new PolicySyntaxError(`nesting deeper than ${MAX_POLICY_DEPTH}`, t.pos)
    switch (t.type) {
      case 'string':
        return { kind: 'string', value: t.value }
      case 'word':
        return atom(t.value, t.pos)
      case '[': {
        const items: Expr[] = []
        while (tokens[i]?.type !== ']') items.push(expr(depth + 1))
        i++
        return { kind: 'list', items }
      }
      case '(': {
        const head = next()
        if (head.type !== 'word' || !isOperator(head.value)) {
          throw new PolicySyntaxError(`expected an operator (and or not if = != < > member? exists?)`, head.pos)
        }
        const args: Expr[] = []
        while (tokens[i]?.type !== ')') {
          if (i >= tokens.length) throw new PolicySyntaxError('missing )', t.pos)
          args.push(expr(depth + 1))
        }
        i++
        checkArity(head.value, args.length, head.pos)
        return { kind: 'call', op: head.value, args }
      }
      default:
        throw new PolicySyntaxError(`unexpected '${t.type}'`, t.pos)
    }
  }
  const result = expr(0)
  const extra = tokens[i]
  if (extra !== undefined) throw new PolicySyntaxError('unexpected text after the expression', extra.pos)
  return result
}

function atom(word: string, pos: number): Expr {
  if (word === 'true' || word === 'false') return { kind: 'bool', value: word === 'true' }
  if (NUMBER_RE.test(word)) return { kind: 'number', value: Number(word) }
  if (isOperator(word)) throw new PolicySyntaxError(`operator '${word}' outside parentheses`, pos)
  if (!NAME_RE.test(word)) throw new PolicySyntaxError(`'${word.slice(0, 40)}' is not a name: names are subject.*, resource.* or action.*`, pos)
  return { kind: 'ident', name: word }
}

const ARITY: Record<string, [number, number]> = {
  and: [1, Infinity], or: [1, Infinity], not: [1, 1], if: [3, 3],
  '=': [2, Infinity], '!=': [2, 2], '<': [2, 2], '>': [2, 2], 'member?': [2, 2], 'exists?': [1, Infinity]
}

function checkArity(op: string, n: number, pos: number): void {
  const [min, max] = ARITY[op] ?? [0, Infinity]
  if (n < min || n > max) {
    throw new PolicySyntaxError(`'${op}' takes ${min === max ? String(min) : `${min}${max === Infinity ? ' or more' : `-${max}`}`} arguments, not ${n}`, pos)
  }
}
