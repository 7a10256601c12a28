// Runs StrykerJS over each security-critical module (stryker.config.mjs lists them and the tests
// that judge each) and prints every module's mutation score as a table and as JSON, with the
// mutants that survived. `npm run test:mutation [module …]`; it is slow, so CI's default run skips it.
// `--from-reports` runs nothing: it reads the last reports and also lists each survivor's source line.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const ALL = ['transport-cipher', 'policy', 'credential-stripping', 'influxql-gate', 'api-gate', 'grant-scope', 'lease-manager', 'authority', 'secure-channel']

interface Mutant { id: string; mutatorName: string; status: string; location: { start: { line: number; column: number }; end: { line: number; column: number } }; replacement?: string }
interface Report { files: Record<string, { source: string; mutants: Mutant[] }> }

interface Row { module: string; mutants?: number; killed?: number; survived?: number; noCoverage?: number; score?: number; survivors?: string[]; error?: string }
const rows: Row[] = []
const fromReports = process.argv.includes('--from-reports')
const named = process.argv.slice(2).filter((a) => !a.startsWith('--'))
for (const name of named.length > 0 ? named : ALL) {
  const run = fromReports ? { status: 0 } : spawnSync('npx', ['stryker', 'run'], { env: { ...process.env, MUTATION_MODULE: name }, stdio: ['ignore', 'ignore', 'inherit'] })
  if (run.status !== 0) {
    rows.push({ module: name, error: `stryker exited ${String(run.status)}` })
    continue
  }
  const report = JSON.parse(readFileSync(`reports/mutation/${name}.json`, 'utf8')) as Report
  const mutants = Object.entries(report.files).flatMap(([file, f]) => f.mutants.map((m) => ({ file, ...m })))
  const count = (...s: string[]): number => mutants.filter((m) => s.includes(m.status)).length
  const killed = count('Killed', 'Timeout')
  const valid = mutants.length - count('CompileError', 'Ignored', 'RuntimeError')
  rows.push({
    module: name, mutants: valid, killed, survived: count('Survived'), noCoverage: count('NoCoverage'),
    score: valid === 0 ? 100 : Math.round((killed / valid) * 1000) / 10,
    survivors: mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage').map((m) => {
      const line = fromReports ? ` | ${(report.files[m.file]?.source.split('\n')[m.location.start.line - 1] ?? '').trim().slice(0, 100)}` : ''
      return `${m.file}:${m.location.start.line}:${m.location.start.column}-${m.location.end.column} ${m.mutatorName}${m.replacement !== undefined ? ` → ${m.replacement.slice(0, 60)}` : ''}${line}`
    })
  })
}
process.stdout.write(`${JSON.stringify(rows, null, 2)}\n\n`)
process.stdout.write('module                 | mutants | killed | survived | score %\n')
for (const r of rows) process.stdout.write(`${r.module.padEnd(22)} | ${String(r.mutants ?? '-').padStart(7)} | ${String(r.killed ?? '-').padStart(6)} | ${String(r.survived ?? r.error ?? '-').padStart(8)} | ${r.score ?? '-'}\n`)
