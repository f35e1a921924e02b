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

// command is one etcdkit command.
type command struct {
	path  string // "lease grant"
	use   string // "lease grant <ttl>"
	short string
	long  string // more, for its --help
	// define declares the command's own flags on fs and returns its run function, bound to
	// this invocation's values of them: two runs never share flag state.
	define func(fs *flagSet) runFunc
	// stopAfter: after this many positional arguments, the rest are not parsed as flags.
	stopAfter int
	// formats are the output formats it prints besides simple and json ("fields table").
	formats string
}

// runFunc runs a command with its positional arguments.
type runFunc func(a *app, args []string) error

// options are a command's flag values: flags declares them on a flag set, run runs the
// command with the values parsed.
type options[O any] interface {
	*O
	flags(fs *flagSet)
	run(a *app, args []string) error
}

// withOptions defines a command whose flags are the fields of an O made for each run.
func withOptions[O any, P options[O]](fs *flagSet) runFunc {
	p := P(new(O))
	p.flags(fs)
	return p.run
}

// noFlags defines a command without flags of its own.
func noFlags(run runFunc) func(*flagSet) runFunc {
	return func(*flagSet) runFunc { return run }
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

// app is one invocation: its streams, global flags, the parsed command's positional
// arguments and, once connected, its client.
type app struct {
	stdin          io.Reader
	stdout         *bufio.Writer
	stderr         io.Writer
	g              globals
	fs             *flagSet
	cmd            *command
	dash           int // positional arguments before "--", -1 without "--"
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
	err := a.dispatch(args)
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
		a.usage(stderr)
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

func (a *app) dispatch(args []string) error {
	if len(args) > 0 && args[0] == completeCommand {
		a.complete(args[1:])
		return nil
	}
	a.fs = newFlagSet()
	a.g.define(a.fs)
	var help bool
	a.fs.boolVar(&help, "help", "help for etcdkit")
	a.fs.alias("h", "help")
	words := commandWords(args, a.fs)
	names := make([]string, len(words))
	for i, w := range words {
		names[i] = args[w]
	}
	path := strings.Join(names, " ")
	for _, c := range commands {
		if c.path == path {
			a.cmd = c
		}
	}
	switch {
	case len(names) > 0 && names[0] == "help":
		a.usage(a.stdout)
		return nil
	case a.cmd == nil && len(names) > 0 && !isGroup(names[0]):
		//lint:ignore ST1005 etcdctl's words, which scripts match
		return &exitErr{code: exitError, err: fmt.Errorf("unknown command %q for \"etcdkit\"\nRun 'etcdkit --help' for usage.", names[0])}
	}
	// Every other argument, wherever it stands, is a flag or an argument of the command.
	rest := slices.Clone(args)
	for i := len(words) - 1; i >= 0; i-- {
		rest = slices.Delete(rest, words[i], words[i]+1)
	}
	var run runFunc
	stopAfter := 0
	if a.cmd != nil {
		run, stopAfter = a.cmd.define(a.fs), a.cmd.stopAfter
	}
	pos, dash, err := a.fs.parse(rest, stopAfter)
	if err != nil {
		return &exitErr{code: exitError, err: err, usage: true}
	}
	switch {
	case a.cmd == nil && len(names) > 0:
		a.groupUsage(a.stdout, names[0])
		return nil
	case a.cmd == nil || help:
		a.usage(a.stdout)
		return nil
	}
	a.dash = dash
	if err := a.g.fromEnv(a.fs, a.getenv); err != nil {
		return err
	}
	if err := a.g.check(a.cmd.formats); err != nil {
		return err
	}
	return run(a, pos)
}

// commandWords finds the command's name among args, as cobra finds etcdctl's: one word, or a
// group and a subcommand ("lease grant"), returned as positions in args. The command's own
// flags are not known until the command is, so a flag written before the name, without "="
// and not known to fs as a boolean, takes the next argument as its value: "--consistency s
// get a" runs get, and "--prefix get a" names the command "a", as in etcdctl.
func commandWords(args []string, fs *flagSet) []int {
	var words []int
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return words
		case arg == "":
		case strings.HasPrefix(arg, "-"):
			if fs.takesNext(arg) {
				if len(args)-i-1 <= 1 {
					return words // cobra stops here: a last value is never a command
				}
				i++
			}
		default:
			words = append(words, i)
			if len(words) == 2 || !isGroup(arg) {
				return words
			}
		}
	}
	return words
}

func isGroup(name string) bool {
	for _, c := range commands {
		if strings.HasPrefix(c.path, name+" ") {
			return true
		}
	}
	return false
}

// usage prints the command's usage, or the list of commands.
func (a *app) usage(w io.Writer) {
	if a.cmd == nil {
		fmt.Fprintln(w, "etcdkit: an etcd v3 client with etcdctl's syntax and output.\n\nUsage:\n  etcdkit [global flags] <command> [flags] [arguments]\n\nCommands:")
		cs := slices.Clone(commands)
		sort.Slice(cs, func(i, j int) bool { return cs[i].path < cs[j].path })
		for _, c := range cs {
			fmt.Fprintf(w, "  %-24s %s\n", c.path, c.short)
		}
		fmt.Fprintln(w, "\nGlobal flags (also from ETCDCTL_<FLAG> environment variables):")
		printGlobalFlags(w)
		return
	}
	fmt.Fprintf(w, "Usage:\n  etcdkit %s [flags]\n\n%s\n\n", a.cmd.use, a.cmd.short)
	if a.cmd.long != "" {
		fmt.Fprintf(w, "%s\n\n", a.cmd.long)
	}
	fmt.Fprintln(w, "Flags:")
	own := newFlagSet()
	a.cmd.define(own)
	var help bool
	own.boolVar(&help, "help", "help for "+a.cmd.path)
	own.alias("h", "help")
	own.printDefaults(w, nil)
	fmt.Fprintln(w, "\nRun 'etcdkit --help' for the global flags.")
}

func (a *app) groupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage:\n  etcdkit %s <subcommand>\n\nSubcommands:\n", group)
	for _, c := range commands {
		if strings.HasPrefix(c.path, group+" ") {
			fmt.Fprintf(w, "  %-24s %s\n", c.path, c.short)
		}
	}
	fmt.Fprintf(w, "\nRun 'etcdkit %s <subcommand> --help' for a subcommand's usage.\n", group)
}
