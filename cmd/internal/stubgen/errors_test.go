package stubgen

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput expects a clear error for every kind of bad input, and no output.
func TestBadInput(t *testing.T) {
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "other.proto"), []byte(`syntax = "proto3";`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"unknown release", func(c *Config) { c.Release = "v3.9.9" }, "etcd release v3.9.9 not found on the Go module proxy"},
		{"malformed release", func(c *Config) { c.Release = "3.7" }, `malformed etcd release "3.7"`},
		{"release before 3.5", func(c *Config) { c.Release = "v3.4.23" }, "predates v3.5.0"},
		{"release and source", func(c *Config) { c.Release, c.SourceDir = "v3.7.3", "testdata/tree" }, "exactly one"},
		{"neither release nor source", func(c *Config) {}, "exactly one"},
		{"unknown service", func(c *Config) { c.Release, c.Keep = "v3.7.3", "KV,Nope" },
			`unknown service "Nope"; valid services: Auth, Cluster, Election, KV, Lease, Lock, Maintenance, Watch`},
		{"unknown RPC", func(c *Config) { c.Release, c.Keep = "v3.7.3", "KV.Nope" },
			`service KV has no RPC "Nope"; valid RPCs: Range, RangeStream, Put, DeleteRange, Txn, Compact`},
		{"RPC newer than the release", func(c *Config) { c.Release, c.Keep = "v3.6.16", "KV.RangeStream" },
			`service KV has no RPC "RangeStream"; valid RPCs: Range, Put, DeleteRange, Txn, Compact`},
		{"service missing from a tree", func(c *Config) { c.SourceDir, c.Keep = "testdata/tree", "Lock" },
			"service Lock lives in v3lockpb, which the source does not have"},
		{"malformed keep-list", func(c *Config) { c.Release, c.Keep = "v3.7.3", "KV,,Watch" }, `malformed keep-list entry ""`},
		{"keep-list with a path", func(c *Config) { c.Release, c.Keep = "v3.7.3", "KV.Range.Extra" }, `malformed keep-list entry "KV.Range.Extra"`},
		{"directory without protos", func(c *Config) { c.SourceDir = empty }, "no etcd protos in " + empty},
		{"missing directory", func(c *Config) { c.SourceDir = filepath.Join(empty, "nope") }, "etcd source tree: stat"},
		{"file as directory", func(c *Config) { c.SourceDir = filepath.Join(empty, "other.proto") }, "is not a directory"},
		{"empty keep-list", func(c *Config) { c.Release, c.Keep = "v3.7.3", " " }, "the keep-list is empty"},
		{"empty buf", func(c *Config) { c.SourceDir, c.Keep, c.Buf = "testdata/tree", "KV", []string{""} }, "the buf command is empty"},
		{"template without buf", func(c *Config) { c.SourceDir, c.Keep, c.BufTemplate = "testdata/tree", "KV", "buf.gen.yaml" }, "a buf template needs a buf command"},
		{"buf fails", func(c *Config) { c.SourceDir, c.Keep, c.Buf = "testdata/tree", "KV", []string{"buf", "--no-such-flag"} }, "buf --no-such-flag generate"},
		{"template without module=", func(c *Config) {
			c.SourceDir, c.Keep, c.Buf = "testdata/tree", "KV", []string{"buf"}
			c.BufTemplate = `{"version":"v2","plugins":[{"local":"protoc-gen-go","out":"."}]}`
		}, "generated file example.com/app/pb/etcdserverpb/rpc.pb.go falls outside"}, // the first in path order
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			tc.edit(&cfg)
			_, err := Generate(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.want)
			}
			if files := readTree(t, cfg.Module); len(files) != 1 {
				t.Errorf("files written despite the error: %s", names(files))
			}
		})
	}
}
