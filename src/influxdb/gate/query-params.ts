import { PorticoError, type ErrorKind } from '../../util/errors.js'
/** Query-string or form parameters taken from one request; more are refused. */
export const MAX_PARAMS = 256

/** Parameters that could not be read as the server reads them: refused rather than guessed at. */
export class ParamsError extends PorticoError {
  override readonly code: string = 'params'
  override readonly kind: ErrorKind = 'bad-input'
  override name = 'ParamsError'
}

/**
 * Every value of the parameter `name` in a query string or form body, as any InfluxDB build could
 * read it: Go before 1.17 also splits at `;`, newer Go drops a pair holding one. Both readings'
 * values are returned, so a check of all of them holds for either server.
 */
export function paramValues(text: string, name: string): string[] {
  const values = new Set<string>()
  for (const separators of [/&/, /[&;]/]) {
    const pairs = text.split(separators)
    if (pairs.length > MAX_PARAMS) throw new ParamsError(`more than ${MAX_PARAMS} parameters`)
    for (const pair of pairs) {
      const eq = pair.indexOf('=')
      const key = decode(eq < 0 ? pair : pair.slice(0, eq))
      if (key === name) values.add(decode(eq < 0 ? '' : pair.slice(eq + 1)))
    }
  }
  return [...values]
}

/** The query string of a request target (after `?`), or ''. */
export function queryString(target: string): string {
  const q = target.indexOf('?')
  return q < 0 ? '' : target.slice(q + 1)
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '))
  } catch {
    throw new ParamsError('a parameter is not valid percent-encoded UTF-8')
  }
}
