package stubgen

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/cmd/internal/kitsrc"
)

// keptFor trims v3.7.3 to keep and returns what it keeps.
func keptFor(t *testing.T, keep string) kept {
	t.Helper()
	naming, err := NewNaming("example.com/app/pb")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trim(context.Background(), &Config{Release: "v3.7.3", Keep: keep}, naming)
	if err != nil {
		t.Fatal(err)
	}
	return tr.kept
}

// TestAllConstraintMatchesNeeds checks that exactly the files of etcd/ (tests included)
// whose needs DefaultKeep does not meet carry the etcdkit_all constraint, so that
// etcdkit's own module compiles over its default stubs and no file is left out needlessly.
func TestAllConstraintMatchesNeeds(t *testing.T) {
	def := keptFor(t, DefaultKeep)
	paths, err := filepath.Glob("../../../etcd/*.go")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no files of package etcd found: %v", err)
	}
	constrained := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f := kitsrc.File{Name: filepath.Base(p), Data: data}
		needs, err := fileNeeds(f)
		if err != nil {
			t.Fatal(err)
		}
		met := true
		for _, n := range needs {
			met = met && def.meets(n)
		}
		_, rest, _ := strings.Cut(string(data), "\n")
		tagged := strings.HasPrefix(rest, allConstraint)
		if tagged {
			constrained++
		}
		if tagged == met {
			t.Errorf("%s: DefaultKeep meets its needs: %v, but its second line is the etcdkit_all constraint: %v", f.Name, met, tagged)
		}
	}
	if constrained == 0 {
		t.Error("no file carries the etcdkit_all constraint; the operator files should")
	}
}

// TestVendoredCopyDropsAllConstraint checks that a copy vendored with every service keeps
// the operator files and drops their constraint line, so that they compile there.
func TestVendoredCopyDropsAllConstraint(t *testing.T) {
	src, err := kitsrc.Etcd()
	if err != nil {
		t.Fatal(err)
	}
	out, err := etcdFiles(src, keptFor(t, "KV,Watch,Lease,Cluster,Maintenance,Auth"), "example.com/app/kit/gen", stamp{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range src {
		if !strings.Contains(string(f.Data), allConstraint) {
			continue
		}
		got, ok := out[f.Name]
		if !ok {
			t.Errorf("%s: not copied with every service kept", f.Name)
			continue
		}
		if strings.Contains(string(got), "etcdkit_all") {
			t.Errorf("%s: the copy still carries the etcdkit_all constraint", f.Name)
		}
	}
	if _, ok := out["members.go"]; !ok {
		t.Error("members.go: not copied with every service kept")
	}
}
