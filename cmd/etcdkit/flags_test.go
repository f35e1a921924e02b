package main

import (
	"bytes"
	"context"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestCompareFlagsBeforeCommand: a command's flag written before the command's name is read
// as etcdctl's cobra reads it. A flag not known globally as a boolean takes the next word as
// its value while the command is looked for, so "--consistency s get a" runs get, while
// "--prefix get a" looks for a command "a"; once found, the command parses every flag.
func TestCompareFlagsBeforeCommand(t *testing.T) {
	p := newPair(t, etcdtest.Options{})
	p.must("put", "a", "1")
	p.must("put", "ab", "2")
	unknown := func(cmd string) string { return fmt.Sprintf("unknown command %q for \"etcdctl\"", cmd) }
	for _, tc := range []readCase{
		{args: []string{"--consistency", "s", "get", "a"}},
		{args: []string{"--consistency=s", "get", "a"}},
		{args: []string{"--limit", "1", "get", "a", "b"}},
		{args: []string{"--prefix", "get", "a"}, fails: exitError, errWant: unknown("a")},
		{args: []string{"--prefix=true", "get", "a"}},
		{args: []string{"--prefix", "true", "get", "a"}, fails: exitBadArgs, errWant: "too many arguments, only accept one argument when `--prefix` or `--from-key` is set"},
		{args: []string{"--keys-only", "get", "a"}, fails: exitError, errWant: unknown("a")},
		{args: []string{"--prefix", "--", "get", "a"}},
		{args: []string{"-w", "json", "--prefix=true", "get", "a"}},
		{args: []string{"--hex", "get", "a"}},
		{args: []string{"-x", "get", "a"}, fails: exitError, errWant: unknown("a")},
		{args: []string{"--bogus", "x", "get", "a"}, fails: exitError, errWant: "unknown flag: --bogus"},
		{args: []string{"--prefix", "get"}, fails: exitError, errWant: "unknown flag: --prefix"},
		{args: []string{"-i", "txn"}, fails: exitError, errWant: "unknown shorthand flag: 'i' in -i"},
		{args: []string{"-l", "x", "elect", "e"}, fails: exitBadArgs, errWant: "proposal given but -l is set"},
		{args: []string{"--keys", "x", "lease", "timetolive", "1"}, fails: exitBadArgs, errWant: "lease timetolive command needs lease ID as argument"},
		{args: []string{"--keys", "lease", "list"}, fails: exitError, errWant: unknown("list")},
		{args: []string{"member", "--bogus", "list"}, fails: exitError, errWant: "unknown flag: --bogus"},
		{args: []string{"--consistency", "s", "member", "list"}},
	} {
		tc.name = strings.Join(tc.args, " ")
		p.compareRead(tc)
	}
}

// TestRunReentrant runs commands with different flags concurrently in one process: each run
// parses its own flags, so none sees another's (run under -race).
func TestRunReentrant(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	ep := cl.Endpoints()[0]
	kit := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		args = append([]string{"--endpoints", ep}, args...)
		code := run(context.Background(), args, strings.NewReader(""), &out, &errb, func(string) string { return "" })
		return out.String(), errb.String(), code
	}
	for _, kv := range [][2]string{{"r/a", "1"}, {"r/b", "2"}} {
		if _, stderr, code := kit("put", kv[0], kv[1]); code != 0 {
			t.Fatalf("put %s: exit %d: %s", kv[0], code, stderr)
		}
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"get", "--prefix", "r/"}, "r/a\n1\nr/b\n2\n"},
		{[]string{"get", "r/a"}, "r/a\n1\n"},
		{[]string{"get", "--print-value-only", "r/b"}, "2\n"},
		{[]string{"-w", "json", "get", "--keys-only", "--count-only", "r/"}, ""},
		{[]string{"--consistency", "s", "get", "--from-key", "r/b"}, "r/b\n2\n"},
	}
	var wg sync.WaitGroup
	for i := range 40 {
		tc := cases[i%len(cases)]
		wg.Go(func() {
			out, stderr, _ := kit(tc.args...)
			if out != tc.want {
				t.Errorf("run %d %v printed %q (stderr %q), want %q", i, tc.args, out, stderr, tc.want)
			}
		})
	}
	wg.Wait()
}

// TestNoStubImports: the CLI reaches etcd only through package etcd (DESIGN.md), its tests
// included, never through the generated stubs.
func TestNoStubImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if strings.Contains(path, "/gen/") || strings.HasSuffix(path, "/gen") {
				t.Errorf("%s imports %s: use package etcd, not the generated stubs", name, path)
			}
		}
	}
}

// TestCommandHelp: every command's --help (and -h) prints that command's own usage on
// standard output and exits 0, as etcdctl's do; a group's prints its subcommands.
func TestCommandHelp(t *testing.T) {
	for _, c := range commands {
		for _, flag := range []string{"--help", "-h"} {
			var out, errb bytes.Buffer
			args := append(strings.Fields(c.path), flag)
			code := run(context.Background(), args, strings.NewReader(""), &out, &errb, func(string) string { return "" })
			want := "Usage:\n  etcdkit " + c.use + " [flags]\n\n" + c.short + "\n"
			if code != 0 || !strings.HasPrefix(out.String(), want) || errb.Len() != 0 {
				t.Errorf("etcdkit %s: exit %d, stdout %q, stderr %q; want stdout starting %q", strings.Join(args, " "), code, out.String(), errb.String(), want)
			}
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"user", "--help"}, strings.NewReader(""), &out, io.Discard, func(string) string { return "" }); code != 0 ||
		!strings.Contains(out.String(), "  user grant-role ") {
		t.Errorf("etcdkit user --help: exit %d, stdout %q", code, out.String())
	}
}
