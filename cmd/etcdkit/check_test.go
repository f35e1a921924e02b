package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestCheck runs check perf (for 3 seconds rather than etcdctl's 60) and check datascale
// (etcdctl's small workload, compared with etcdctl's run on the same member): their lines and
// exit codes, the keys they wrote deleted afterwards, and their refusals compared with
// etcdctl's.
func TestCheck(t *testing.T) {
	t.Parallel()
	p := newPair(t, etcdtest.Options{})
	p.must("put", "keep", "me")
	left := func(prefix string) {
		t.Helper()
		if out := p.must("get", "--prefix", prefix, "--keys-only"); out != "" {
			t.Errorf("keys left under %q: %q", prefix, out)
		}
		if out := p.must("get", "keep"); out != "keep\nme\n" {
			t.Errorf("a key outside the prefix changed: %q", out)
		}
	}

	t.Run("perf", func(t *testing.T) {
		r := p.kitRun("", "check", "perf", "--duration", "3s", "--prefix", "perf/", "--auto-compact", "--auto-defrag")
		ep := regexp.QuoteMeta(p.cl.Endpoints()[0])
		shape := regexp.MustCompile(`^Compacting with revision (\d+)\nCompacted with revision (\d+)\nDefragmenting "` + ep + `"\nDefragmented "` + ep + `"\n` +
			`(PASS: Throughput is \d+ writes/s|FAIL: Throughput too low: \d+ writes/s)\n` +
			`(PASS: Slowest request took|Slowest request took too long:) \d+\.\d{6}s\n` +
			`(PASS: Stddev is|Stddev too high:) \d+\.\d{6}s\n(PASS|FAIL)\n$`)
		m := shape.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("check perf printed:\n%s(exit %d, stderr %q)", r.stdout, r.code, r.stderr)
		}
		passed := m[6] == "PASS"
		if passed != (r.code == 0) || (!passed && r.code != exitError) || passed != !strings.Contains(r.stdout, " too ") {
			t.Errorf("check perf: exit %d after:\n%s", r.code, r.stdout)
		}
		if !strings.Contains(r.stderr, "3 / 3 [") {
			t.Errorf("no finished progress bar on stderr: %q", r.stderr)
		}
		if m[1] != m[2] || (strings.HasPrefix(m[3], "PASS") && p.revision() < 300) {
			t.Errorf("compacted at %s and %s, store at revision %d: fewer puts than 2 s at 150/s", m[1], m[2], p.revision())
		}
		left("perf/")
	})

	t.Run("datascale", func(t *testing.T) {
		mb := regexp.MustCompile(`used : -?\d+\.\d\d MB`)
		var runs []result
		for _, bin := range []string{p.ctl, kitBin} {
			r := p.run(bin, "", "check", "datascale", "--prefix", "scale/", "--auto-compact")
			left("scale/")
			r.stdout = mb.ReplaceAllString(regexp.MustCompile(`revision \d+`).ReplaceAllString(r.stdout, "revision N"), "used : X MB")
			if !strings.Contains(r.stderr, "10000 / 10000 [") {
				t.Errorf("%s: no finished progress bar on stderr", bin)
			}
			r.stderr = ""
			runs = append(runs, r)
		}
		sameOutput(t, runs[0], runs[1], false, nil)
		if !strings.HasSuffix(runs[1].stdout, "PASS: Approximate system memory used : X MB.\n") {
			t.Errorf("check datascale printed %q", runs[1].stdout)
		}
	})

	p.must("put", "busy/k", "v")
	for _, tc := range []readCase{
		{name: "perf unknown load", fails: 4, errWant: "unknown load option huge", args: []string{"check", "perf", "--load", "huge"}},
		{name: "datascale unknown load", fails: 4, errWant: "unknown load option xs", args: []string{"check", "datascale", "--load", "xs"}},
		{name: "perf prefix has keys", fails: 3, errWant: "prefix \"busy/\" has keys. Delete with 'etcdctl del --prefix busy/' first", args: []string{"check", "perf", "--prefix", "busy/", "--load", "small"}},
		{name: "datascale prefix has keys", fails: 3, errWant: "prefix \"busy/\" has keys. Delete with etcdctl del --prefix busy/ first", args: []string{"check", "datascale", "--prefix", "busy/"}},
	} {
		p.compareRead(tc)
	}
}
