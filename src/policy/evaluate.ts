import { MAX_POLICY_DEPTH, PolicyEvalError, type Expr } from './ast.js'

export type Value = string | number | boolean | Value[]
/** What a policy can see: `subject.*`, `resource.*`, `action.*`, flattened to dotted names. */
export type Environment = ReadonlyMap<string, string | number | boolean>

const MISSING = Symbol('missing')
type Result = Value | typeof MISSING

/**
 * Evaluates to a boolean. A name the environment lacks makes every comparison that uses it false
 * (never true), so a policy about an attribute denies a subject without it.
 */
export function evaluate(expr: Expr, env: Environment): boolean {
  const v = evalExpr(expr, env, 0)
  if (typeof v !== 'boolean') throw new PolicyEvalError(`policy evaluates to ${describe(v)}, not a boolean`)
  return v
}

function evalExpr(e: Expr, env: Environment, depth: number): Result {
  if (depth > MAX_POLICY_DEPTH) throw new PolicyEvalError('policy nested too deeply')
  switch (e.kind) {
    case 'string':
    case 'number':
    case 'bool':
      return e.value
    case 'ident':
      return env.has(e.name) ? env.get(e.name) as string | number | boolean : MISSING
    case 'list':
      return e.items.map((i) => present(evalExpr(i, env, depth + 1), 'a list item'))
  }
  const arg = (n: number): Result => evalExpr(e.args[n] as Expr, env, depth + 1)
  switch (e.op) {
    case 'and':
      return e.args.every((_, n) => bool(arg(n), 'and'))
    case 'or':
      return e.args.some((_, n) => bool(arg(n), 'or'))
    case 'not':
      return !bool(arg(0), 'not')
    case 'if':
      return bool(arg(0), 'if') ? arg(1) : arg(2)
    case '=': {
      const values = e.args.map((_, n) => arg(n))
      const first = values[0] as Result
      return values.every((v) => equal(first, v))
    }
    case '!=': {
      const a = arg(0)
      const b = arg(1)
      return a !== MISSING && b !== MISSING && !equal(a, b)
    }
    case '<':
    case '>': {
      const a = number(arg(0))
      const b = number(arg(1))
      if (a === undefined || b === undefined) return false
      return e.op === '<' ? a < b : a > b
    }
    case 'member?': {
      const needle = arg(0)
      const hay = arg(1)
      if (hay === MISSING || needle === MISSING) return false
      if (!Array.isArray(hay)) throw new PolicyEvalError("'member?' needs a list as its second argument")
      return hay.some((v) => equal(needle, v))
    }
    case 'exists?':
      return e.args.every((a) => {
        if (a.kind !== 'ident') throw new PolicyEvalError("'exists?' takes names")
        return env.has(a.name)
      })
  }
}

function present(v: Result, what: string): Value {
  if (v === MISSING) throw new PolicyEvalError(`${what} names something that does not exist`)
  return v
}

function bool(v: Result, op: string): boolean {
  if (v === MISSING) return false
  if (typeof v === 'boolean') return v
  // Attributes are strings: "true" and "false" count as booleans so `(and subject.x ...)` reads naturally.
  if (v === 'true' || v === 'false') return v === 'true'
  throw new PolicyEvalError(`'${op}' needs booleans, got ${describe(v)}`)
}

function number(v: Result): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v)
  return undefined
}

/** Attributes are strings, so a boolean or number compares equal to its text. */
function equal(a: Result, b: Result): boolean {
  if (a === MISSING || b === MISSING) return false
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i] as Value))
  }
  return String(a) === String(b)
}

function describe(v: Result): string {
  if (v === MISSING) return 'a missing name'
  return Array.isArray(v) ? 'a list' : `${typeof v} ${JSON.stringify(v)}`
}
