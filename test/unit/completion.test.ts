import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { buildProgram } from '../../src/cli/main.js'
import { bashCompletion, fishCompletion, zshCompletion } from '../../src/cli/commands/completion.js'

/** What bash completes after `words` (the last one being typed), with the generated script. */
function complete(words: string[]): string[] {
  const script = `${bashCompletion(buildProgram())}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _portico; printf '%s\\n' "\${COMPREPLY[@]}"`
  return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter((l) => l !== '')
}

test('bash completes commands, subcommands and options at any depth, skipping option values', () => {
  assert.deepEqual(complete(['portico', 'no']), ['node'])
  assert.ok(complete(['portico', '']).includes('influxdb-inlet'))
  assert.deepEqual(complete(['portico', 'node', 'cr']), ['create'])
  assert.deepEqual(complete(['portico', 'tcp-inlet', 'list', '--at', 'dev1', '--ou']), ['--output'])
  assert.deepEqual(complete(['portico', 'lease', 'create', '--via', 'influxdb', '--out']), ['--outlet', '--output'])
  assert.deepEqual(complete(['portico', 'completion', '--h']), ['--help'])
})

test('zsh reuses the bash script; fish lists subcommands by the word before and the options of each command', () => {
  assert.match(zshCompletion(buildProgram()), /bashcompinit[\s\S]*complete -F _portico portico/)
  const fish = fishCompletion(buildProgram())
  assert.match(fish, /^complete -c portico -n '__fish_use_subcommand' -a '.*\binfluxdb-outlet\b.*'$/m)
  assert.match(fish, /^complete -c portico -n '__fish_seen_subcommand_from lease' -a 'create list show revoke'$/m)
  assert.match(fish, /^complete -c portico -n '__fish_seen_subcommand_from create' -l enrollment-ticket$/m)
})
