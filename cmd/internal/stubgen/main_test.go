package stubgen

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/cmd/internal/testbin"
)

// TestMain builds buf and the plugins once and puts them on PATH for every test.
func TestMain(m *testing.M) { testbin.Main(m) }

// testConfig returns a Config that writes the stubs as package example.com/app/pb into
// a fresh module example.com/app in a temporary directory, keeping KV and generating
// in-process.
func testConfig(t *testing.T) Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Config{
		Keep:     "KV",
		Module:   dir,
		GoOut:    filepath.Join(dir, "pb"),
		ProtoOut: filepath.Join(dir, "proto"),
	}
}

// testTree configures the synthetic etcd tree in testdata/tree.
func testTree(cfg Config, keep string) Config {
	cfg.SourceDir = filepath.Join("testdata", "tree")
	cfg.SourceName = "test tree"
	cfg.Keep = keep
	return cfg
}

// readTree returns the files below dir by slash path; a missing dir is empty.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if os.IsNotExist(err) && p == dir {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// names returns the sorted keys of a file map, for messages.
func names(files map[string]string) string {
	return strings.Join(slices.Sorted(maps.Keys(files)), " ")
}
