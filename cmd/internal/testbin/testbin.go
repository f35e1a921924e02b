// Package testbin prepares what the generator's tests run: buf and protoc-gen-go as
// pinned in tools/go.mod (buf through scripts/buf.sh) and protoc-gen-etcdkit-grpc, once
// per test binary, in a directory that goes in front of PATH, and throwaway Go modules
// that build against the same grpc and protobuf versions as the kit's root module.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// Main is a TestMain body for tests that run buf: it builds the tools into a temporary
// directory on PATH, runs the tests, removes the directory, checks for leaked
// goroutines and exits.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "etcdkit-testbin-")
	if err == nil {
		err = Build(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// RepoRoot returns the repository root: the first directory above the working
// directory that holds both tools/go.mod and cmd/go.mod.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if exists(filepath.Join(dir, "tools", "go.mod")) && exists(filepath.Join(dir, "cmd", "go.mod")) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("testbin: no repository root above %s", wd)
		}
	}
}

// exists reports whether a file exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Build puts buf in dir (the pinned release scripts/buf.sh provides), builds protoc-gen-go
// and protoc-gen-etcdkit-grpc into it, and puts dir in front of PATH for this process and
// its children.
func Build(dir string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	buf := exec.Command("bash", filepath.Join(root, "scripts", "buf.sh"))
	buf.Stderr = os.Stderr // what it fetched or built, and why it failed
	out, err := buf.Output()
	if err != nil {
		return fmt.Errorf("testbin: scripts/buf.sh: %w", err)
	}
	if err := os.Symlink(strings.TrimSpace(string(out)), filepath.Join(dir, "buf")); err != nil {
		return err
	}
	builds := [][]string{
		{"-C", filepath.Join(root, "tools"), "build", "-o", dir, "google.golang.org/protobuf/cmd/protoc-gen-go"},
		{"-C", filepath.Join(root, "cmd"), "build", "-o", dir, "./protoc-gen-etcdkit-grpc"},
	}
	for _, args := range builds {
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("testbin: go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// WriteModule makes dir the root of a Go module named path whose requirements and
// go.sum are those of the repository's module in the directory from ("." for the kit's
// root module, "tests/coexist" to have clientv3 too), so generated code builds without
// resolving new versions. The module requires the kit itself, replaced by the
// repository's root, so that programs in it can link etcdkit's etcd/ and gen/.
func WriteModule(dir, path, from string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	mod, err := os.ReadFile(filepath.Join(root, from, "go.mod"))
	if err != nil {
		return err
	}
	first, rest, ok := strings.Cut(string(mod), "\n")
	if !ok || !strings.HasPrefix(first, "module ") {
		return fmt.Errorf("testbin: %s/go.mod does not start with a module line", from)
	}
	sum, err := os.ReadFile(filepath.Join(root, from, "go.sum"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var kept []string
	for _, line := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(line, "replace "+kit+" ") {
			kept = append(kept, line)
		}
	}
	gomod := "module " + path + "\n" + strings.Join(kept, "\n") + "\nreplace " + kit + " => " + root + "\n"
	if !strings.Contains(gomod, "\t"+kit+" ") {
		gomod += "\nrequire " + kit + " v0.0.0\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644)
}

// kit is the kit's root module path.
const kit = "github.com/etcdkit/etcdkit"

// Go runs the go command in dir with GOFLAGS=-mod=mod and GOWORK=off and returns its
// combined output.
func Go(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out), nil
}
