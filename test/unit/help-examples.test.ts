import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Command } from 'commander'
import { buildProgram } from '../../src/cli/main.js'
import { EXAMPLES } from '../../src/cli/help-examples.js'

const find = (program: Command, path: string): Command | undefined => path.split(' ').reduce<Command | undefined>((c, name) => c?.commands.find((s) => s.name() === name), program)

test('every --help example names its own command and only options that command takes, and shows in its help', () => {
  const program = buildProgram()
  for (const [path, lines] of Object.entries(EXAMPLES)) {
    const command = find(program, path)
    assert.ok(command !== undefined, path)
    const known = new Set(command.options.map((o) => o.long))
    for (const line of lines) {
      assert.ok(line.startsWith(`portico ${path}`), line)
      for (const flag of line.replace(/'[^']*'|"[^"]*"|#.*$/g, '').match(/--[a-z-]+/g) ?? []) assert.ok(known.has(flag), `${path}: ${flag} is not an option`)
    }
    let shown = ''
    command.configureOutput({ writeOut: (text) => { shown += text } })
    command.outputHelp()
    for (const line of lines) assert.ok(shown.includes(line), `${path}: --help does not show ${line}`)
  }
})

test('every command takes --output json, but those whose output is a stream or a script', () => {
  const streams = new Set(['portico node logs', 'portico completion', 'portico project export'])
  const missing: string[] = []
  const walk = (c: Command, path: string): void => {
    if (c.commands.length === 0 && !streams.has(path) && !c.options.some((o) => o.long === '--output')) missing.push(path)
    for (const s of c.commands) walk(s, `${path} ${s.name()}`)
  }
  walk(buildProgram(), 'portico')
  assert.deepEqual(missing, [])
})
