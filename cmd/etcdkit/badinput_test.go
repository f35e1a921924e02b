package main

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestBadInput runs etcdkit with bad flags, missing or malformed arguments, bad TTLs and an
// unreachable endpoint. Each run must end within its bound with a non-zero exit and an
// "Error: ..." line on stderr, and never panic. No server is needed: every run points at a
// port where nothing listens, with short timeouts, so that anything that does try to connect
// fails fast.
func TestBadInput(t *testing.T) {
	t.Parallel()
	unreachable := []string{"--endpoints", "127.0.0.1:1", "--dial-timeout", "300ms", "--command-timeout", "1s"}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string // in the error line
	}{
		{"unknown command", []string{"frobnicate"}, "", "frobnicate"},
		{"unknown flag", []string{"get", "k", "--no-such-flag"}, "", "no-such-flag"},
		// Before the command's name, an unknown flag without "=" takes the next word as its
		// value, as in etcdctl: "--no-such-flag get k" looks for a command "k".
		{"unknown global flag", []string{"--no-such-flag=1", "get", "k"}, "", "no-such-flag"},
		{"unknown flag before the command", []string{"--no-such-flag", "get", "k"}, "", `"k"`},
		{"flag without value", []string{"get", "k", "--limit"}, "", "limit"},
		{"bad number", []string{"get", "k", "--limit", "ten"}, "", "ten"},
		{"bad duration", []string{"--dial-timeout", "soon", "get", "k"}, "", "soon"},
		{"bad output format", []string{"-w", "yaml", "get", "k"}, "", "output format"}, // etcdctl's words
		{"get without key", []string{"get"}, "", ""},
		{"put without value", []string{"put", "k"}, "", ""},
		{"put without args", []string{"put"}, "", ""},
		{"del without key", []string{"del"}, "", ""},
		{"put bad lease", []string{"put", "k", "v", "--lease", "zz"}, "", "zz"},
		{"lease grant without ttl", []string{"lease", "grant"}, "", ""},
		{"lease grant bad ttl", []string{"lease", "grant", "ten"}, "", "ten"},
		{"lease grant zero ttl", []string{"lease", "grant", "0"}, "", ""},
		{"lease grant negative ttl", []string{"lease", "grant", "-5"}, "", ""},
		{"lease revoke bad id", []string{"lease", "revoke", "xyz"}, "", "xyz"},
		{"lease timetolive without id", []string{"lease", "timetolive"}, "", ""},
		{"lease keep-alive without id", []string{"lease", "keep-alive"}, "", ""},
		// Not here: "lease frob" prints the usage and exits 0, as etcdctl does.
		{"watch bad rev", []string{"watch", "k", "--rev", "abc"}, "", "abc"},
		{"lock without name", []string{"lock"}, "", ""},
		{"elect without name", []string{"elect"}, "", ""},
		{"txn malformed compare", []string{"txn"}, "val(\"k\" = \"v\"\n\n\n\n", ""},
		{"txn bad request", []string{"txn"}, "\nfrob k v\n\n\n", ""},
		{"empty endpoint", []string{"--endpoints", "", "get", "k"}, "", ""},
		{"wrong scheme", []string{"--endpoints", "ftp://127.0.0.1:2379", "get", "k"}, "", "ftp"},
		{"malformed endpoint", []string{"--endpoints", "no-port", "get", "k"}, "", "no-port"},
		{"missing CA file", []string{"--cacert", "/nonexistent/ca.pem", "get", "k"}, "", "nonexistent"},
		{"cert without key", []string{"--cert", "/nonexistent/c.pem", "get", "k"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runKit(t, 10*time.Second, tc.stdin, append(append([]string{}, unreachable...), tc.args...)...)
			checkFailure(t, r, tc.want)
		})
	}
}

// TestUnreachableEndpoint: commands against an endpoint where nothing listens fail within
// --command-timeout (plus the dial timeout and start-up), with an error, never a hang.
func TestUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"get", "k"},
		{"put", "k", "v"},
		{"del", "k"},
		{"lease", "grant", "10"},
		{"member", "list"},
		{"endpoint", "status"},
		{"endpoint", "health"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			begun := time.Now()
			r := runKit(t, 10*time.Second, "", append([]string{"--endpoints", "127.0.0.1:1", "--dial-timeout", "500ms", "--command-timeout", "1s"}, args...)...)
			if took := time.Since(begun); took > 5*time.Second {
				t.Errorf("took %v with --command-timeout 1s", took)
			}
			if args[0] == "endpoint" {
				// As etcdctl: status reports "Failed to get the status of endpoint ..." and health
				// the unhealthy endpoint, then "Error: unhealthy cluster".
				if r.code == 0 || !strings.Contains(r.stderr, "127.0.0.1:1") || strings.Contains(r.stderr, "panic:") {
					t.Errorf("%s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
				}
				return
			}
			checkFailure(t, r, "")
		})
	}
}

// runKit runs the etcdkit binary, killing it after limit (a hang fails the test).
func runKit(t *testing.T, limit time.Duration, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, kitBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("etcdkit %q hung: killed after %v (stderr %q)", args, limit, errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running etcdkit: %v", err)
	}
	return result{out.String(), errb.String(), code}
}

// checkFailure wants a non-zero exit, an "Error: " line mentioning want, and no panic.
func checkFailure(t *testing.T, r result, want string) {
	t.Helper()
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("panicked: %s", r.stderr)
	}
	line := errorLine(r.stderr)
	if r.code == 0 || line == "" {
		t.Fatalf("exit %d, stderr %q, stdout %q; want a non-zero exit and an Error: line", r.code, r.stderr, r.stdout)
	}
	if !strings.Contains(line, want) {
		t.Errorf("error line %q does not mention %q", line, want)
	}
}

// TestCompareUnreachable compares both programs against an endpoint where nothing listens:
// each fails after --command-timeout with etcdctl's error and exit code. (etcdctl's txn, user
// and role commands and lease list have no timeout and wait for ever; etcdkit's give up
// after --command-timeout.)
func TestCompareUnreachable(t *testing.T) {
	t.Parallel()
	p := &pair{t: t, ctl: etcdtest.RequireBinary(t, "etcdctl", "v3.7.3")}
	unreachable := []string{"--endpoints", "127.0.0.1:1", "--command-timeout", "500ms"}
	for _, tc := range []readCase{
		{args: []string{"get", "k"}},
		{args: []string{"put", "k", "v"}},
		{args: []string{"lease", "grant", "10"}, errWant: "failed to grant lease (context deadline exceeded)"},
		{args: []string{"member", "list"}},
		{args: []string{"auth", "status"}},
	} {
		tc.name = strings.Join(tc.args, " ")
		tc.fails = exitError
		if tc.errWant == "" {
			tc.errWant = "context deadline exceeded"
		}
		tc.args = append(slices.Clone(unreachable), tc.args...)
		p.compareRead(tc)
	}
}
