package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Shell completion. etcdctl's scripts come from cobra; etcdkit has its own flag parser, so
// its scripts ask etcdkit itself: each runs "etcdkit __complete <words>", the words of the
// command line up to the cursor after the program's name (the last one, maybe empty, being
// the word to complete), and offers the lines it prints. Commands, subcommands, global and
// command flags and the values of a few flags are completed; other arguments fall back to
// the shell's file names (bash, zsh) or nothing.

func init() {
	register(&command{path: "completion", use: "completion [bash|zsh|fish|powershell]", short: "Generate completion script",
		long: completionHelp, define: noFlags(runCompletion), formats: textOnly})
}

const completionHelp = `To load completions:

Bash:
  $ source <(etcdkit completion bash)
  # for each session, once: etcdkit completion bash > /etc/bash_completion.d/etcdkit

Zsh (with compinit enabled):
  $ etcdkit completion zsh > "${fpath[1]}/_etcdkit"

fish:
  $ etcdkit completion fish | source
  # for each session, once: etcdkit completion fish > ~/.config/fish/completions/etcdkit.fish

PowerShell:
  PS> etcdkit completion powershell | Out-String | Invoke-Expression`

// completeCommand is the hidden command the scripts run; dispatch hands it its words before
// any flag is parsed.
const completeCommand = "__complete"

// shells are completion's arguments, with their scripts.
var shells = map[string]string{
	"bash": `# bash completion for etcdkit
_etcdkit_complete() {
    local line="${COMP_LINE:0:COMP_POINT}" words cur IFS
    read -ra words <<< "$line"
    [[ "$line" =~ [[:space:]]$ ]] && words+=("")
    cur="${words[${#words[@]}-1]}"
    IFS=$'\n'
    COMPREPLY=($("${words[0]}" __complete "${words[@]:1}" 2>/dev/null))
    # bash replaces only the part of the word after its last "=" (COMP_WORDBREAKS).
    if [[ "$cur" == *=* && "$COMP_WORDBREAKS" == *=* ]]; then
        COMPREPLY=("${COMPREPLY[@]#"${cur%=*}="}")
    fi
}
complete -o default -F _etcdkit_complete etcdkit
`,
	"zsh": `#compdef etcdkit
# zsh completion for etcdkit
_etcdkit() {
    local -a candidates
    candidates=(${(f)"$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)"})
    if (( ${#candidates} )); then
        compadd -Q -- "${candidates[@]}"
    else
        _files
    fi
}
if [[ "${funcstack[1]}" == _etcdkit ]]; then
    _etcdkit "$@"
else
    compdef _etcdkit etcdkit
fi
`,
	"fish": `# fish completion for etcdkit
function __etcdkit_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    $tokens[1] __complete $tokens[2..-1] "$cur" 2>/dev/null
end
complete -c etcdkit -f -a '(__etcdkit_complete)'
`,
	"powershell": `# PowerShell completion for etcdkit
Register-ArgumentCompleter -Native -CommandName etcdkit -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $elements = @($commandAst.CommandElements | Where-Object { $_.Extent.EndOffset -le $cursorPosition })
    $words = @($elements | Select-Object -Skip 1 | ForEach-Object { $_.Extent.Text })
    if ($wordToComplete -eq '') { $words += '""' }
    & $elements[0].Extent.Text __complete @words 2>$null | ForEach-Object {
        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
    }
}
`,
}

func runCompletion(a *app, args []string) error {
	if len(args) != 1 {
		return &exitErr{code: exitError, err: fmt.Errorf("accepts 1 arg(s), received %d", len(args)), usage: true}
	}
	script, ok := shells[args[0]]
	if !ok {
		return &exitErr{code: exitError, err: fmt.Errorf("invalid argument %q for \"etcdkit completion\"", args[0]), usage: true}
	}
	fmt.Fprint(a.stdout, script)
	return nil
}

// flagValues are the values offered for flags that take one of a few.
var flagValues = map[string][]string{
	"write-out":   {"fields", "json", "protobuf", "simple", "table"},
	"consistency": {"l", "s"},
	"order":       {"ASCEND", "DESCEND"},
	"sort-by":     {"CREATE", "KEY", "MODIFY", "VALUE", "VERSION"},
}

// complete prints the candidates for the last of words.
func (a *app) complete(words []string) {
	for _, c := range completions(words) {
		fmt.Fprintln(a.stdout, c)
	}
}

// completions are the candidates for the last of words, sorted: the word being completed
// with the words before it.
func completions(words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, before := words[len(words)-1], words[:len(words)-1]
	fs := newFlagSet()
	var g globals
	g.define(fs)
	var help bool
	fs.boolVar(&help, "help", "")
	fs.alias("h", "help")
	var names []string
	for _, w := range commandWords(before, fs) {
		names = append(names, before[w])
	}
	path := strings.Join(names, " ")
	var cmd *command
	for _, c := range commands {
		if c.path == path {
			cmd = c
			cmd.define(fs)
		}
	}

	var out []string
	offer := func(cands ...string) {
		for _, c := range cands {
			if strings.HasPrefix(c, cur) && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	flagName := func(arg string) string {
		if strings.HasPrefix(arg, "--") {
			return arg[2:]
		}
		return fs.short[strings.TrimPrefix(arg, "-")]
	}
	switch {
	case strings.HasPrefix(cur, "-") && strings.Contains(cur, "="):
		name, _, _ := strings.Cut(cur, "=")
		for _, v := range flagValues[flagName(name)] {
			offer(name + "=" + v)
		}
	case len(before) > 0 && strings.HasPrefix(before[len(before)-1], "-") && fs.takesNext(before[len(before)-1]):
		offer(flagValues[flagName(before[len(before)-1])]...)
	case strings.HasPrefix(cur, "-"):
		for name, d := range fs.defs {
			offer("--" + name)
			for l, n := range fs.short {
				if n == d.name {
					offer("-" + l)
				}
			}
		}
	case cmd == nil && len(names) == 1:
		for _, c := range commands {
			if sub, ok := strings.CutPrefix(c.path, names[0]+" "); ok {
				offer(sub)
			}
		}
	case cmd == nil && len(names) == 0:
		offer("help")
		for _, c := range commands {
			offer(strings.Fields(c.path)[0])
		}
	case cmd != nil && cmd.path == "completion":
		for s := range shells {
			offer(s)
		}
	}
	sort.Strings(out)
	return out
}
