package stubgen

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUniqueNames checks that import paths which differ only in characters the proto
// identifiers cannot hold ('-', '_', '.') get different proto packages, and that plain
// paths keep their readable names.
func TestUniqueNames(t *testing.T) {
	seen := map[string]string{}
	for _, p := range []string{
		"example.com/my-app/pb", "example.com/my_app/pb", "example.com/my.app/pb", "example.com/my~app/pb",
		"example.com/my+app/pb", "example.com/1app/pb", "example.com/_1app/pb", "example_com/my_app/pb",
		"example.com/my/app/pb", "github.com/etcdkit/etcdkit/gen",
	} {
		n, err := NewNaming(p)
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := seen[n.Prefix()]; dup {
			t.Errorf("%s and %s share the proto package prefix %s", p, other, n.Prefix())
		}
		seen[n.Prefix()] = p
	}
	for p, want := range map[string]string{
		"github.com/etcdkit/etcdkit/gen": "github_com.etcdkit.etcdkit.gen",
		"example.com/app/pb":             "example_com.app.pb",
	} {
		if n, _ := NewNaming(p); n.Prefix() != want {
			t.Errorf("%s: prefix %s, want %s", p, n.Prefix(), want)
		}
	}
	if n, _ := NewNaming("example.com/my-app/pb"); !strings.HasPrefix(n.Prefix(), "example_com.my_app.pb._") {
		t.Errorf("example.com/my-app/pb: prefix %s, want the readable form and a hash element", n.Prefix())
	}
}

// TestFailedSwapLeavesOldTrees makes the rename that puts the new stubs in place fail
// after the protos were already swapped, and expects both old trees back, whole.
func TestFailedSwapLeavesOldTrees(t *testing.T) {
	cfg := testTree(testConfig(t), "KV")
	if _, err := Generate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, cfg.Module)
	calls := 0
	rename = func(from, to string) error {
		calls++
		if calls == 4 { // proto -> old, staged proto -> proto, gen -> old, staged gen -> gen
			return errors.New("injected failure")
		}
		return os.Rename(from, to)
	}
	defer func() { rename = os.Rename }()
	cfg.Keep = "KV.Put"
	if _, err := Generate(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	expectWhole(t, cfg.Module, before)
}

// TestFailedWriteLeavesOldTrees makes the write of one staged file fail part-way through
// a run and expects the error, both old trees whole, and no staged directory left behind.
func TestFailedWriteLeavesOldTrees(t *testing.T) {
	cfg := testTree(testConfig(t), "KV")
	if _, err := Generate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, cfg.Module)
	calls := 0
	writeFile = func(name string, data []byte, perm os.FileMode) error {
		if calls++; calls == 2 {
			os.WriteFile(name, data[:len(data)/2], perm) // a truncated file, as a full disk leaves
			return errors.New("injected write failure")
		}
		return os.WriteFile(name, data, perm)
	}
	defer func() { writeFile = os.WriteFile }()
	cfg.Keep = "KV.Put"
	if _, err := Generate(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "injected write failure") {
		t.Fatalf("err = %v, want the injected write failure", err)
	}
	expectWhole(t, cfg.Module, before)
}

// expectWhole checks that the tree under module is still before, file for file, and that no
// staged or old directory (a dot directory) was left beside it.
func expectWhole(t *testing.T, module string, before map[string]string) {
	t.Helper()
	after := readTree(t, module)
	if names(before) != names(after) {
		t.Fatalf("files changed: %s -> %s", names(before), names(after))
	}
	for p := range before {
		if before[p] != after[p] {
			t.Errorf("%s changed", p)
		}
	}
	entries, err := os.ReadDir(module)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

// TestOutputOutsideModule expects every output directory that is not strictly inside
// the module (or lies in a nested module, or is etcdkit's own module outside make gen's
// gen/ and proto/) to be refused before anything is written.
func TestOutputOutsideModule(t *testing.T) {
	kitRoot := t.TempDir()
	if err := os.WriteFile(filepath.Join(kitRoot, "go.mod"), []byte("module github.com/etcdkit/etcdkit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	tests := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"go out above the module", func(c *Config) { c.GoOut = "../pb" }, "is not inside module example.com/app"},
		{"proto out is the module", func(c *Config) { c.ProtoOut = "." }, "is not inside module example.com/app"},
		{"symbolic link out of the module", func(c *Config) {
			if err := os.Symlink(outside, filepath.Join(c.Module, "link")); err != nil {
				t.Fatal(err)
			}
			c.GoOut = "link/pb"
		}, "is not inside module example.com/app"},
		{"nested module", func(c *Config) {
			if err := os.MkdirAll(filepath.Join(c.Module, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(c.Module, "sub", "go.mod"), []byte("module example.com/sub\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			c.GoOut = "sub/pb"
		}, "holds another module's go.mod"},
		{"overlapping outputs", func(c *Config) { c.ProtoOut = filepath.Join(c.GoOut, "proto") }, "overlap"},
		{"no go.mod", func(c *Config) { c.Module = outside }, "no go.mod in " + outside},
		{"both vendor and stubs", func(c *Config) { c.Into = "internal/etcdkit" }, "not both"},
		{"etcdkit's module, not gen/", func(c *Config) { c.Module, c.GoOut, c.ProtoOut = kitRoot, "pb", "proto" }, "refusing to write into github.com/etcdkit/etcdkit"},
		{"vendor into etcdkit's module", func(c *Config) { c.Module, c.GoOut, c.ProtoOut, c.Into = kitRoot, "", "", "internal/x" }, "refusing to vendor into github.com/etcdkit/etcdkit"},
		{"vendor into the CLI's module, not its kit", func(c *Config) {
			if err := os.WriteFile(filepath.Join(c.Module, "go.mod"), []byte("module github.com/etcdkit/etcdkit/cmd\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			c.GoOut, c.ProtoOut, c.Into = "", "", "internal/x"
		}, "refusing to vendor into github.com/etcdkit/etcdkit/cmd"},
		{"vendor without KV", func(c *Config) { c.GoOut, c.ProtoOut, c.Into, c.Keep = "", "", "internal/x", "KV.Put" }, "package etcd needs every RPC of KV"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testTree(testConfig(t), "KV")
			cfg.GoOut, cfg.ProtoOut = "pb", "proto"
			tc.edit(&cfg)
			_, err := Generate(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.want)
			}
			for _, dir := range []string{cfg.Module, outside, kitRoot} {
				err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
					if err == nil && d.Type().IsRegular() && d.Name() != "go.mod" {
						t.Errorf("%s written despite the error", p)
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
