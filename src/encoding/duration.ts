/** Longest duration accepted anywhere (a year), so arithmetic on it never overflows a timer. */
export const MAX_DURATION_SECONDS = 366 * 24 * 3600
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** `300` (seconds), `90s`, `10m`, `1h`, `7d` or a number of seconds, to whole seconds. */
export function parseDuration(value: string | number): number {
  const text = String(value).trim()
  const m = /^(\d{1,9})([smhd]?)$/.exec(text)
  if (m === null) throw new RangeError(`'${text.slice(0, 40)}' is not a duration (like 300, 90s, 10m, 1h, 7d)`)
  const seconds = Number(m[1]) * (UNITS[m[2] ?? ''] ?? 1)
  if (seconds <= 0 || seconds > MAX_DURATION_SECONDS) throw new RangeError(`duration '${text}' must be between 1 s and ${MAX_DURATION_SECONDS / 86400} days`)
  return seconds
}
