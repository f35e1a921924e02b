package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/cmd/internal/testbin"
)

// TestVendorReadsEtcdLive proves the generator reads package etcd live from the root module:
// in a copy of the checkout, a function appended to etcd/kv.go is in what etcdkit-gen, built
// from that copy with no other step, vendors.
func TestVendorReadsEtcdLive(t *testing.T) {
	root, err := testbin.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	checkout := t.TempDir()
	for _, name := range []string{"go.mod", "go.sum", "kit.go", "etcd", "gen", "cmd"} {
		src := filepath.Join(root, name)
		fi, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() {
			data, err := os.ReadFile(src)
			if err == nil {
				err = os.WriteFile(filepath.Join(checkout, name), data, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.CopyFS(filepath.Join(checkout, name), os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
	}
	const appended = "\n// AppendedByLiveTest is added to a copy of etcd/kv.go by TestVendorReadsEtcdLive.\nfunc AppendedByLiveTest() {}\n"
	kv := filepath.Join(checkout, "etcd", "kv.go")
	data, err := os.ReadFile(kv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kv, append(data, appended...), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(t.TempDir(), "etcdkit-gen")
	build := exec.Command("go", "build", "-o", gen, "./etcdkit-gen")
	build.Dir = filepath.Join(checkout, "cmd")
	build.Env = append(os.Environ(), "GOWORK="+filepath.Join(checkout, "cmd", "go.work"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building etcdkit-gen in the copy: %v\n%s", err, out)
	}

	mod := t.TempDir()
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/live\n\ngo 1.24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gen, "vendor", "-release", "v3.7.3", "-keep", "KV", "-into", "internal/etcdkit")
	cmd.Dir = mod
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("etcdkit-gen vendor: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(mod, "internal", "etcdkit", "etcd", "kv.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "func AppendedByLiveTest() {}") {
		t.Error("the vendored etcd/kv.go lacks the function appended to the copy's etcd/kv.go")
	}
}
