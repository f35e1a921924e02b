package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/cmd/internal/testbin"
)

// TestMain builds buf and the plugins once and puts them on PATH for every test.
func TestMain(m *testing.M) { testbin.Main(m) }

// TestFlags checks exit codes and messages for malformed command lines.
func TestFlags(t *testing.T) {
	out := t.TempDir()
	dirs := []string{"-go-out", filepath.Join(out, "go"), "-proto-out", filepath.Join(out, "proto")}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"-h"}, 0, "-keep list"},
		{"unknown flag", []string{"-nope"}, 2, "flag provided but not defined: -nope"},
		{"missing value", []string{"-release"}, 2, "flag needs an argument: -release"},
		{"argument", []string{"-release", "v3.7.3", "extra"}, 2, `unexpected argument "extra"`},
		{"no source", nil, 2, "give exactly one of -release and -source"},
		{"two sources", []string{"-release", "v3.7.3", "-source", "."}, 2, "give exactly one of -release and -source"},
		{"unknown release", append([]string{"-release", "v3.9.9"}, dirs...), 1, "etcdkit-gen: etcd release v3.9.9 not found on the Go module proxy"},
		{"empty buf", append([]string{"-release", "v3.7.3", "-buf", " "}, dirs...), 1, "the buf command is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, want %d; output:\n%s\nwant it to contain %q", code, tc.code, stderr.String(), tc.want)
			}
		})
	}
}
