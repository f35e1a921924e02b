// Command etcdkit is an etcd v3 command-line client with etcdctl's syntax and output, built on
// package etcd: keys, transactions, watches, leases, locks, elections, members, endpoints,
// maintenance, snapshots, users, roles and auth (the README's table lists every etcdctl
// command and what differs).
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

// Exit codes, as etcdctl uses them.
const (
	exitError         = 1
	exitBadConnection = 2
	exitInvalidInput  = 3
	exitBadFeature    = 4
	exitInterrupted   = 5
	exitBadArgs       = 128
)

// exitError ends a command with a status; a nil err exits silently with the code.
type exitErr struct {
	code  int
	err   error
	usage bool // print the command's usage after the error
}

func (e *exitErr) Error() string { return e.err.Error() }

func (e *exitErr) Unwrap() error { return e.err }

func fail(code int, format string, args ...any) error {
	return &exitErr{code: code, err: fmt.Errorf(format, args...)}
}

// command is one etcdkit command; each run makes a cobra command of it.
type command struct {
	path  string // "lease grant"
	use   string // "lease grant <ttl>"
	short string
	long  string // more, for its --help
	// define declares the command's own flags on fs and returns its run function, bound to
	// this invocation's values of them: two runs never share flag state.
	define func(fs *pflag.FlagSet) runFunc
	// stopAfter: after this many positional arguments, the rest are not parsed as flags.
	stopAfter int
	// formats are the output formats it prints besides simple and json ("fields table").
	formats string
	// valid are the values its arguments take, offered by shell completion.
	valid []string
}

// runFunc runs a command with its positional arguments.
type runFunc func(a *app, args []string) error

// options are a command's flag values: flags declares them on a flag set, run runs the
// command with the values parsed.
type options[O any] interface {
	*O
	flags(fs *pflag.FlagSet)
	run(a *app, args []string) error
}

// withOptions defines a command whose flags are the fields of an O made for each run.
func withOptions[O any, P options[O]](fs *pflag.FlagSet) runFunc {
	p := P(new(O))
	p.flags(fs)
	return p.run
}

// noFlags defines a command without flags of its own.
func noFlags(run runFunc) func(*pflag.FlagSet) runFunc {
	return func(*pflag.FlagSet) runFunc { return run }
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

// app is one invocation: its streams, global flags, the running command and its positional
// arguments and, once connected, its client.
type app struct {
	stdin          io.Reader
	stdout         *bufio.Writer
	stderr         io.Writer
	g              globals
	cmd            *cobra.Command // the command running, its flags parsed
	dash           int            // positional arguments before "--", -1 without "--"
	ctx            context.Context
	getenv         func(string) string
	lookupPassword func(prompt string) (string, error)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run runs one command line and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdin: stdin, stdout: bufio.NewWriter(stdout), stderr: stderr, ctx: ctx, getenv: getenv, dash: -1}
	defer a.stdout.Flush()
	root := a.root()
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	a.stdout.Flush()
	var ee *exitErr
	if !errors.As(err, &ee) {
		ee = &exitErr{code: exitError, err: err}
	}
	// etcdctl authenticates as it connects, before running the command: a refused user or
	// password fails as a connection does, in the server's words.
	if le := loginError(err); le != nil {
		ee = &exitErr{code: exitBadConnection, err: le}
	}
	if ee.err != nil {
		fmt.Fprintln(stderr, "Error:", errText(ee.err))
	}
	if ee.usage {
		a.help(stderr, cmd)
	}
	return ee.code
}

// loginError is the error of the client's login within err, if it failed there.
func loginError(err error) *etcd.Error {
	for ; err != nil; err = errors.Unwrap(err) {
		if le, ok := err.(*etcd.Error); ok && le.Op == "authenticate" {
			return le
		}
	}
	return nil
}

// root builds this run's command tree from the registered commands: etcdctl's global flags
// on the root, a group ("lease") for each two-word path, each command's own flags on it.
func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:               "etcdkit",
		Short:             "an etcd v3 client with etcdctl's syntax and output",
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	a.g.define(root.PersistentFlags())
	completeValues(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitErr{code: exitError, err: err, usage: true}
	})
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { a.help(c.OutOrStdout(), c) })
	root.SetUsageFunc(func(c *cobra.Command) error { a.help(c.OutOrStderr(), c); return nil })
	groups := map[string]*cobra.Command{}
	for _, c := range commands {
		parent := root
		if group, _, ok := strings.Cut(c.path, " "); ok {
			if groups[group] == nil {
				groups[group] = &cobra.Command{Use: group, Short: group + " related commands"}
				root.AddCommand(groups[group])
			}
			parent = groups[group]
		}
		parent.AddCommand(a.leaf(c))
	}
	return root
}

// leaf makes the cobra command that runs c.
func (a *app) leaf(c *command) *cobra.Command {
	use := c.use // cobra's Use starts with the command's own name
	if group, _, ok := strings.Cut(c.path, " "); ok {
		use = strings.TrimPrefix(use, group+" ")
	}
	cc := &cobra.Command{
		Use:                use,
		Short:              c.short,
		Long:               c.long,
		ValidArgs:          c.valid,
		DisableFlagParsing: c.stopAfter > 0,
	}
	run := c.define(cc.Flags())
	completeValues(cc)
	cc.RunE = func(cmd *cobra.Command, args []string) error {
		a.cmd = cmd
		if c.stopAfter > 0 {
			var err error
			if args, err = parseUntil(cmd, args, c.stopAfter); err != nil {
				return err
			}
			if help, _ := cmd.Flags().GetBool("help"); help {
				return cmd.Help()
			}
		} else {
			a.dash = cmd.ArgsLenAtDash()
		}
		if err := fromEnv(cmd.Root().PersistentFlags(), a.getenv); err != nil {
			return err
		}
		if err := a.g.check(c.formats); err != nil {
			return err
		}
		return run(a, args)
	}
	return cc
}

// parseUntil parses the flags of cmd (which leaves them to its command) in args, global ones
// included, until n positional arguments have been read: the rest, flags or not, follow them
// as arguments, so that a command to run keeps its own flags.
func parseUntil(cmd *cobra.Command, args []string, n int) ([]string, error) {
	cmd.InheritedFlags() // adds the global flags to cmd.Flags()
	fs := cmd.Flags()
	fs.SetInterspersed(false)
	var pos []string
	for len(args) > 0 && len(pos) < n {
		if err := fs.Parse(args); err != nil {
			return nil, &exitErr{code: exitError, err: err, usage: true}
		}
		args = fs.Args()
		if fs.ArgsLenAtDash() >= 0 || len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	return append(pos, args...), nil
}

// help prints c's usage: the list of commands and the global flags for the root, the
// subcommands for a group.
func (a *app) help(w io.Writer, c *cobra.Command) {
	switch {
	case !c.HasParent():
		fmt.Fprintln(w, "etcdkit: an etcd v3 client with etcdctl's syntax and output.\n\nUsage:\n  etcdkit [global flags] <command> [flags] [arguments]\n\nCommands:")
		cs := slices.Clone(commands)
		sort.Slice(cs, func(i, j int) bool { return cs[i].path < cs[j].path })
		for _, c := range cs {
			fmt.Fprintf(w, "  %-24s %s\n", c.path, c.short)
		}
		fmt.Fprintln(w, "\nGlobal flags (also from ETCDCTL_<FLAG> environment variables):")
		fmt.Fprint(w, c.PersistentFlags().FlagUsages())
	case c.HasAvailableSubCommands():
		fmt.Fprintf(w, "Usage:\n  %s <subcommand>\n\nSubcommands:\n", c.CommandPath())
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				fmt.Fprintf(w, "  %-24s %s\n", c.Name()+" "+sub.Name(), sub.Short)
			}
		}
		fmt.Fprintf(w, "\nRun '%s <subcommand> --help' for a subcommand's usage.\n", c.CommandPath())
	default:
		fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n\n", c.UseLine(), c.Short)
		if c.Long != "" {
			fmt.Fprintf(w, "%s\n\n", c.Long)
		}
		fmt.Fprintf(w, "Flags:\n%s\nRun 'etcdkit --help' for the global flags.\n", c.LocalFlags().FlagUsages())
	}
}
