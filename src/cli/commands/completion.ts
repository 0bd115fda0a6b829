/**
 * podnet completion bash|zsh: a completion script for the shell, and the hidden
 * `podnet __complete networks|pods|netns` the script calls for names from the state dir
 * (networks/<name>/network.json, pods/<name>/pod.json) and /run/netns. The command tree
 * (groups, their commands and aliases) is written into the script when it is generated.
 *
 *   source <(podnet completion bash)        # or in ~/.bashrc
 *   source <(podnet completion zsh)         # zsh, through bashcompinit
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import { InvalidArgumentError } from '../../errors.js'

/** Options whose value is a namespace name. */
const NETNS_FLAGS = ['-n', '--netns', '--pod-netns', '--to-netns', '--host-netns', '--peer-netns']

function names(dir: string, file: string): string[] {
  try {
    return readdirSync(dir).filter((n) => existsSync(join(dir, n, file))).sort()
  } catch {
    return []
  }
}

/** The names of one kind, for the completion script. */
export async function completionNames(kind: string, stateDir: string | undefined): Promise<string[]> {
  const { dirsFromEnv, resolveDirs } = await import('../../state/dirs.js')
  const root = resolveDirs(dirsFromEnv(stateDir !== undefined ? { stateDir } : {})).stateDir
  if (kind === 'networks') return names(join(root, 'networks'), 'network.json')
  if (kind === 'pods') return names(join(root, 'pods'), 'pod.json')
  if (kind === 'netns') {
    try { return readdirSync('/run/netns').sort() } catch { return [] }
  }
  throw new InvalidArgumentError('kind', `'${kind}' is not networks, pods or netns`)
}

/** The bash script: static command tree, dynamic names. */
export function bashScript(tree: ReadonlyArray<[string, string[]]>): string {
  const groups = tree.map(([g]) => g).join(' ')
  const cases = tree.map(([g, subs]) => `    ${g}) words="${subs.join(' ')}" ;;`).join('\n')
  return `# podnet completion for bash (podnet completion bash); zsh: podnet completion zsh
_podnet_names() { podnet __complete "$1" 2>/dev/null; }
_podnet() {
  local cur prev group sub words state=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  group="\${COMP_WORDS[1]}"
  sub="\${COMP_WORDS[2]}"
  local i
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ "\${COMP_WORDS[i]}" == --state-dir ]]; then state=(--state-dir "\${COMP_WORDS[i+1]}"); fi
  done
  case "$prev" in
    ${NETNS_FLAGS.join('|')})
      COMPREPLY=( $(compgen -W "$(_podnet_names netns)" -- "$cur") ); return ;;
  esac
  if (( COMP_CWORD == 1 )); then
    COMPREPLY=( $(compgen -W "${groups} completion help" -- "$cur") ); return
  fi
  if (( COMP_CWORD == 2 )); then
    case "$group" in
${cases}
    *) words="" ;;
    esac
    COMPREPLY=( $(compgen -W "$words" -- "$cur") ); return
  fi
  if [[ "$cur" == -* ]]; then return; fi
  case "$group" in
    network|nat) COMPREPLY=( $(compgen -W "$(podnet __complete networks "\${state[@]}" 2>/dev/null)" -- "$cur") ) ;;
    pod) COMPREPLY=( $(compgen -W "$(podnet __complete pods "\${state[@]}" 2>/dev/null)" -- "$cur") ) ;;
    netns) COMPREPLY=( $(compgen -W "$(_podnet_names netns)" -- "$cur") ) ;;
  esac
}
complete -F _podnet podnet
`
}

export function zshScript(tree: ReadonlyArray<[string, string[]]>): string {
  return `# podnet completion for zsh (podnet completion zsh): the bash completion through bashcompinit
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(tree)}`
}

export function registerCompletion(program: Command, tree: () => ReadonlyArray<[string, string[]]>): void {
  program.command('completion <shell>').description('print a completion script: source <(podnet completion bash) (or zsh)')
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bashScript(tree()))
      else if (shell === 'zsh') process.stdout.write(zshScript(tree()))
      else throw new InvalidArgumentError('shell', `'${shell}' is not bash or zsh`)
    })
  program.command('__complete <kind>', { hidden: true }).description('names for the completion script: networks, pods or netns')
    .option('--state-dir <dir>', 'state directory')
    .action(async (kind: string, o: { stateDir?: string }) => {
      const out = await completionNames(kind, o.stateDir)
      if (out.length) process.stdout.write(`${out.join('\n')}\n`)
    })
}
