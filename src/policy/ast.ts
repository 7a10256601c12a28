import { PorticoError, type ErrorKind } from '../util/errors.js'
/** Longest policy text accepted; checked before tokenizing. */
export const MAX_POLICY_LENGTH = 4096
/** Deepest nesting accepted, so a hostile policy cannot exhaust the stack. */
export const MAX_POLICY_DEPTH = 64

export const OPERATORS = ['and', 'or', 'not', 'if', '=', '!=', '<', '>', 'member?', 'exists?'] as const
export type Operator = (typeof OPERATORS)[number]

export type Expr =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'ident'; name: string }
  | { kind: 'list'; items: Expr[] }
  | { kind: 'call'; op: Operator; args: Expr[] }

export class PolicySyntaxError extends PorticoError {
  override readonly code: string = 'policy-syntax'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'PolicySyntaxError'
  constructor(message: string, readonly position: number) {
    super(`${message} at position ${position}`)
  }
}

export class PolicyEvalError extends PorticoError {
  override readonly code: string = 'policy-eval'
  override readonly kind: ErrorKind = 'internal'
  override name = 'PolicyEvalError'
}

export function isOperator(s: string): s is Operator {
  return (OPERATORS as readonly string[]).includes(s)
}

/** The canonical S-expression of a parsed policy, so both syntaxes print (and store) the same way. */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'string':
      return JSON.stringify(e.value)
    case 'number':
      return String(e.value)
    case 'bool':
      return e.value ? 'true' : 'false'
    case 'ident':
      return e.name
    case 'list':
      return `[${e.items.map(formatExpr).join(' ')}]`
    case 'call':
      return `(${[e.op, ...e.args.map(formatExpr)].join(' ')})`
  }
}
