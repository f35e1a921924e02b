package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Shell completion comes from cobra, as etcdctl's does: each script asks etcdkit's hidden
// __complete command for the candidates. Commands, subcommands, global and command flags and
// the values of the flags below are completed; other arguments fall back to the shell's file
// names. Only bash, zsh and fish are offered, the shells the tests drive.

func init() {
	register(&command{path: "completion", use: "completion [bash|zsh|fish]", short: "Generate completion script",
		long: completionHelp, define: noFlags(runCompletion), formats: textOnly, valid: []string{"bash", "zsh", "fish"}})
}

const completionHelp = `To load completions:

Bash (with the bash-completion package):
  $ source <(etcdkit completion bash)
  # for each session, once: etcdkit completion bash > /etc/bash_completion.d/etcdkit

Zsh (with compinit enabled):
  $ etcdkit completion zsh > "${fpath[1]}/_etcdkit"

fish:
  $ etcdkit completion fish | source
  # for each session, once: etcdkit completion fish > ~/.config/fish/completions/etcdkit.fish`

// runCompletion prints the script for its one argument, a shell, with etcdctl's errors.
func runCompletion(a *app, args []string) error {
	if len(args) != 1 {
		return &exitErr{code: exitError, err: fmt.Errorf("accepts 1 arg(s), received %d", len(args)), usage: true}
	}
	root := a.cmd.Root()
	switch args[0] {
	case "bash":
		return root.GenBashCompletionV2(a.stdout, true)
	case "zsh":
		return root.GenZshCompletion(a.stdout)
	case "fish":
		return root.GenFishCompletion(a.stdout, true)
	}
	return &exitErr{code: exitError, err: fmt.Errorf("invalid argument %q for \"etcdkit completion\"", args[0]), usage: true}
}

// flagValues are the values offered for flags that take one of a few.
var flagValues = map[string][]string{
	"write-out":   {"fields", "json", "protobuf", "simple", "table"},
	"consistency": {"l", "s"},
	"order":       {"ASCEND", "DESCEND"},
	"sort-by":     {"CREATE", "KEY", "MODIFY", "VALUE", "VERSION"},
}

// completeValues has completion offer flagValues for those of cmd's own flags that take them.
func completeValues(cmd *cobra.Command) {
	for name, values := range flagValues {
		if cmd.Flags().Lookup(name) != nil || cmd.PersistentFlags().Lookup(name) != nil {
			// Only a second registration for one flag fails.
			_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
	}
}
