package stubgen

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// TestKitSourcesAreLive checks that the generator reads package etcd from the module it was
// built with: every non-test file of etcd/ and its sub-packages, byte for byte, and no other.
func TestKitSourcesAreLive(t *testing.T) {
	src, err := kitSources()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range src {
		got[f.Name] = true
		disk, err := os.ReadFile(filepath.Join("../../../etcd", filepath.FromSlash(f.Name)))
		if err != nil {
			t.Errorf("%s: embedded but not in etcd/: %v", f.Name, err)
			continue
		}
		if string(disk) != string(f.Data) {
			t.Errorf("%s: embedded bytes differ from etcd/%s", f.Name, f.Name)
		}
	}
	for _, pattern := range []string{"*.go", "etcdtls/*.go", "naming/*.go"} {
		paths, _ := filepath.Glob(filepath.Join("../../../etcd", pattern))
		for _, p := range paths {
			rel, _ := filepath.Rel("../../../etcd", p)
			if name := filepath.ToSlash(rel); !strings.HasSuffix(name, "_test.go") && !got[name] {
				t.Errorf("%s: in etcd/ but not among the generator's sources", name)
			}
		}
	}
	if got["etcdtest/binary.go"] {
		t.Error("etcdtest is among the generator's sources; it is not part of the kit")
	}
}

// TestEtcdFilesFollowNeeds checks that the //etcdkit:needs line alone decides what a copy
// holds: a KV-only copy has kv.go but not lock.go (Lease,Watch) or members.go (Cluster), and a
// copy of every service has them all.
func TestEtcdFilesFollowNeeds(t *testing.T) {
	src, err := kitSources()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		keep      string
		in, notIn []string
	}{
		{"KV", []string{"kv.go", "rawcodec.go", "auth.go"}, []string{"lock.go", "members.go", "status.go", "naming/register.go"}},
		{"KV,Watch,Lease", []string{"lock.go", "naming/register.go"}, []string{"members.go", "snapshot.go"}},
		{"KV,Watch,Lease,Cluster,Maintenance,Auth", []string{"members.go", "snapshot.go", "downgrade.go", "authadmin.go"}, nil},
	} {
		out, err := etcdFiles(src, keptFor(t, tc.keep), "example.com/app/kit/gen", stamp{})
		if err != nil {
			t.Fatalf("%s: %v", tc.keep, err)
		}
		for _, name := range tc.in {
			if _, ok := out[name]; !ok {
				t.Errorf("keep %s: %s not copied", tc.keep, name)
			}
		}
		for _, name := range tc.notIn {
			if _, ok := out[name]; ok {
				t.Errorf("keep %s: %s copied, but its needs are not kept", tc.keep, name)
			}
		}
	}
}
