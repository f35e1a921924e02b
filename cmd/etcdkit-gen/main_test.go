package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFlags checks exit codes and messages for malformed command lines.
func TestFlags(t *testing.T) {
	mod := t.TempDir()
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(mod)
	dirs := []string{"-go-out", "pb", "-proto-out", "proto"}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"-h"}, 0, "-keep list"},
		{"vendor help", []string{"vendor", "-h"}, 0, "-into dir"},
		{"unknown flag", []string{"-nope"}, 2, "flag provided but not defined: -nope"},
		{"missing value", []string{"-release"}, 2, "flag needs an argument: -release"},
		{"argument", []string{"-release", "v3.7.3", "extra"}, 2, `unexpected argument "extra"`},
		{"no source", nil, 2, "give exactly one of -release and -source"},
		{"two sources", []string{"-release", "v3.7.3", "-source", "."}, 2, "give exactly one of -release and -source"},
		{"no keep-list", append([]string{"-release", "v3.7.3"}, dirs...), 2, "give a non-empty -keep list"},
		{"empty keep-list", append([]string{"-release", "v3.7.3", "-keep", " "}, dirs...), 2, "give a non-empty -keep list"},
		{"vendor without -into", []string{"vendor", "-release", "v3.7.3", "-keep", "KV"}, 2, "give the directory to vendor into with -into"},
		{"stubs without -proto-out", []string{"-release", "v3.7.3", "-keep", "KV", "-go-out", "pb"}, 2, "give both -go-out and -proto-out"},
		{"unknown release", append([]string{"-release", "v3.9.9", "-keep", "KV"}, dirs...), 1, "etcdkit-gen: etcd release v3.9.9 not found on the Go module proxy"},
		{"empty buf", append([]string{"-release", "v3.7.3", "-keep", "KV", "-buf", " ", "-buf-template", "x"}, dirs...), 1, "a buf template needs a buf command"},
		{"vendor has no -buf", []string{"vendor", "-buf", "buf"}, 2, "flag provided but not defined: -buf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, want %d; output:\n%s\nwant it to contain %q", code, tc.code, stderr.String(), tc.want)
			}
		})
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &stdout, &stderr); code != 0 || stdout.String() != "etcdkit-gen (devel)\n" {
		t.Errorf("version: exit %d, printed %q", code, stdout.String())
	}
}
