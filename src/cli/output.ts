import { InvalidArgumentError } from 'commander'
import { stringify } from 'yaml'
export type OutputFormat = 'plain' | 'json'

export function parseOutput(value: string): OutputFormat {
  if (value !== 'plain' && value !== 'json') throw new InvalidArgumentError(`--output must be plain or json, not ${value}`)
  return value
}

/** One record for people: YAML-like lines, nested records indented, no braces or quotes. */
export function details(value: unknown): string {
  return stringify(value, { lineWidth: 0 }).trimEnd()
}

/** Prints data as JSON for machines or as the given plain text for people. */
export function print(format: OutputFormat, data: unknown, plain: () => string): void {
  process.stdout.write(format === 'json' ? JSON.stringify(data, null, 2) + '\n' : plain() + '\n')
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)'
  const cells = rows.map((r) => columns.map((c) => cell(r[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]?.length ?? 0)))
  const line = (values: string[]): string => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return `${value}`
  return JSON.stringify(value)
}
