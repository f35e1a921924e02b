package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

func init() {
	register(&command{path: "options", use: "options", short: "Show the global command-line flags",
		define: noFlags(runOptions), formats: textOnly})
}

// runOptions lists the global flags in etcdctl's words and layout; like etcdctl's, it
// ignores its arguments.
func runOptions(a *app, _ []string) error {
	fmt.Fprint(a.stdout, "The following options can be passed to any command:\n\n")
	printGlobalFlags(a.stdout)
	return nil
}

// printGlobalFlags lists the global flags, one a line.
func printGlobalFlags(w io.Writer) {
	fs := pflag.NewFlagSet("etcdkit", pflag.ContinueOnError)
	var g globals
	g.define(fs)
	fmt.Fprint(w, fs.FlagUsages())
}
