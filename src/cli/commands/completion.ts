import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'

/** Every command path (`""`, `node`, `node create`, …) with what may follow it: subcommands, then options. */
function commandWords(program: Command): Map<string, string[]> {
  const words = new Map<string, string[]>()
  const walk = (c: Command, path: string): void => {
    const subs = c.commands.filter((s) => !(s as unknown as { _hidden?: boolean })._hidden).map((s) => s.name())
    const options = c.options.filter((o) => !o.hidden).map((o) => o.long).filter((l): l is string => l !== undefined)
    words.set(path, [...subs, ...options, ...(path === '' ? [] : ['--help'])])
    for (const s of c.commands) walk(s, path === '' ? s.name() : `${path} ${s.name()}`)
  }
  walk(program, '')
  return words
}

/** Bash: a word extends the path only when it names a subcommand there, so option values are skipped. */
export function bashCompletion(program: Command): string {
  // Bash's associative arrays take no empty key: every path starts with the command's own name.
  const entries = [...commandWords(program)].map(([path, w]) => `  [${JSON.stringify(`portico${path === '' ? '' : ` ${path}`}`)}]=${JSON.stringify(w.join(' '))}`)
  return `# portico completion for bash: source <(portico completion bash)
declare -A _portico_words=(
${entries.join('\n')}
)
_portico() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path=portico next w
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    next="$path $w"
    [[ -n \${_portico_words[$next]+set} ]] && path=$next
  done
  COMPREPLY=($(compgen -W "\${_portico_words[$path]}" -- "$cur"))
}
complete -F _portico portico
`
}

export function zshCompletion(program: Command): string {
  return `# portico completion for zsh: source <(portico completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program)}`
}

/** Fish: subcommands by the words already given, options of the command they name. */
export function fishCompletion(program: Command): string {
  const lines = ['# portico completion for fish: portico completion fish | source', 'complete -c portico -f']
  for (const [path, words] of commandWords(program)) {
    const given = path === '' ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${path.split(' ').at(-1) ?? ''}`
    const subs = words.filter((w) => !w.startsWith('--'))
    if (subs.length > 0) lines.push(`complete -c portico -n '${given}' -a '${subs.join(' ')}'`)
    for (const o of words.filter((w) => w.startsWith('--') && w !== '--help')) lines.push(`complete -c portico -n '${given}' -l ${o.slice(2)}`)
  }
  return `${lines.join('\n')}\n`
}

const SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const

export function completionCommands(program: Command): void {
  program.command('completion').argument('<shell>', 'bash, zsh or fish', (v: string) => {
    if (!Object.hasOwn(SHELLS, v)) throw new InvalidArgumentError('bash, zsh or fish')
    return v as keyof typeof SHELLS
  })
    .description('Print a completion script for your shell')
    .addHelpText('after', '\nExamples:\n  source <(portico completion bash)          # in ~/.bashrc\n  portico completion fish > ~/.config/fish/completions/portico.fish')
    .action((shell: keyof typeof SHELLS) => { process.stdout.write(SHELLS[shell](program)) })
}
