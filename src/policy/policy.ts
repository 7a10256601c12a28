import type { Attributes } from '../identity/credential.js'
import { formatExpr, PolicyEvalError, type Expr } from './ast.js'
import { evaluate, type Environment } from './evaluate.js'
import { parseSexpr } from './parse-sexpr.js'
import { parseShorthand } from './parse-shorthand.js'
import { tokenize } from './tokenizer.js'

/** Who asks, proved by a secure channel (or nobody, for a message that came through none). */
export interface Subject {
  identifier?: string
  hasCredential: boolean
  attributes: Attributes
}

export interface Decision {
  allowed: boolean
  reason: string
}

/** A parsed policy: text is either an S-expression `(...)` or the boolean shorthand. */
export class Policy {
  private constructor(readonly expr: Expr, readonly source: string) {}

  static parse(text: string): Policy {
    const tokens = tokenize(text)
    if (tokens[0]?.type !== '(') return new Policy(parseShorthand(tokens), text.trim())
    // `(a or b) and c` also opens with a parenthesis: shorthand is tried when the S-expression fails.
    try {
      return new Policy(parseSexpr(tokens), text.trim())
    } catch (sexprError) {
      try {
        return new Policy(parseShorthand(tokens), text.trim())
      } catch {
        throw sexprError
      }
    }
  }

  /** The canonical S-expression form. */
  toString(): string {
    return formatExpr(this.expr)
  }

  decide(subject: Subject, resource: { id: string; type: string }, action = 'handle_message'): Decision {
    try {
      const allowed = evaluate(this.expr, environment(subject, resource, action))
      return { allowed, reason: allowed ? 'allowed' : `policy ${this.source} denies ${subject.identifier ?? 'an unauthenticated sender'}` }
    } catch (err) {
      // An evaluation error denies: a policy that cannot be decided must never open the door.
      if (err instanceof PolicyEvalError) return { allowed: false, reason: `policy ${this.source} failed: ${err.message}` }
      throw err
    }
  }
}

export function environment(subject: Subject, resource: { id: string; type: string }, action: string): Environment {
  const env = new Map<string, string | boolean>()
  for (const [k, v] of Object.entries(subject.attributes)) env.set(`subject.${k}`, v)
  // Proved facts are set after attributes so that no credential attribute can forge them.
  if (subject.identifier !== undefined) env.set('subject.identifier', subject.identifier)
  env.set('subject.has_credential', subject.hasCredential)
  env.set('resource.id', resource.id)
  env.set('resource.type', resource.type)
  env.set('action.id', action)
  return env
}

/** The default policy of every resource: the subject holds a valid credential from our authority. */
export const DEFAULT_POLICY_TEXT = '(= subject.has_credential true)'
export const defaultPolicy = Policy.parse(DEFAULT_POLICY_TEXT)
