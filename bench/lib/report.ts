/** Prints a benchmark's results as JSON (for machines) and as a table (for people). */
export function report(name: string, rows: Record<string, string | number>[], extra: Record<string, unknown> = {}): void {
  const json = { benchmark: name, at: new Date().toISOString(), node: process.version, rows, ...extra }
  console.log(JSON.stringify(json, null, 2))
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)))
  const line = (cells: string[]): string => cells.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')
  console.log('\n' + line(columns))
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'))
  for (const r of rows) console.log(line(columns.map((c) => String(r[c] ?? ''))))
}

export function fmt(n: number, digits = 2): number {
  return Number(n.toFixed(digits))
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}
