package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestQuick is `BENCH_QUICK=1 scripts/bench.sh` as a test, so that `make test` runs the
// benchmark end to end (every workload, every client, the footprint programs, the report)
// with small counts against a real etcd. Its figures are not looked at, only that every run
// completed with no errors, missing events, overlaps or lost leases. The instruction counts
// (valgrind's, minutes long) are make bench's alone.
func TestQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("the quick benchmark takes about a minute")
	}
	etcdtest.RequireBinary(t, "etcd", etcdtest.Version())
	bin, out := t.TempDir(), t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "../bench-etcdkit", "../bench-clientv3", "../bench-raw")
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the runners: %v\n%s", err, msg)
	}
	root := "../../.."
	gen := exec.Command("go", "-C", filepath.Join(root, "cmd"), "build", "-buildvcs=false", "-o", bin+string(filepath.Separator), "./etcdkit-gen")
	if msg, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("building etcdkit-gen: %v\n%s", err, msg)
	}
	err := run(options{bin: bin, out: out, footDir: "../../footprint", gen: filepath.Join(bin, "etcdkit-gen"), root: root,
		release: etcdtest.Version(), reps: 1, quick: true, command: "go test"})
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 500 watchers | etcdkit |", "| list, streamed | etcdkit |", "| list, paged | raw |",
		"| connect, 3 endpoints | etcdkit |", "## Footprint"} {
		if !strings.Contains(strings.ToLower(string(md)), strings.ToLower(want)) {
			t.Errorf("results.md lacks %q", want)
		}
	}
	// The footprint probes, the vendored copy's and its stubs', ran against the server.
	for _, client := range []string{"etcdkit", "raw", "clientv3"} {
		if !regexp.MustCompile(`(?m)^\| ` + client + ` \| [0-9.]+ \| [0-9.]+× \| [0-9]+ \| [0-9]+ \| [^|]+ \| true \|$`).Match(md) {
			t.Errorf("results.md has no footprint row of %s that ran", client)
		}
	}
}
