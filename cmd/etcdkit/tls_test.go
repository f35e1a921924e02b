package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestCompareOperatorTLS compares the operator's commands on a three-member cluster that
// requires client certificates, every endpoint given (or one, where a command takes one):
// member list, endpoint status, health and hashkv with and without --cluster (which finds
// the members' https:// URLs), defrag, compaction, alarm list, snapshot save, and the user,
// role and auth commands.
func TestCompareOperatorTLS(t *testing.T) {
	t.Parallel() // beside make-mirror's wait
	p := newPair(t, etcdtest.Options{Size: 3, ClientCertAuth: true})
	f := p.cl.TLS
	certs := []string{"--cacert", f.CAFile, "--cert", f.ClientCertFile, "--key", f.ClientKeyFile}
	with := func(args ...string) []string { return append(slices.Clone(certs), args...) }
	p.settle(certs...)
	for i := range 10 {
		p.must(with("put", fmt.Sprintf("tls/%d", i), "v")...)
	}
	cases := clusterCases(p)
	cases = append(cases,
		readCase{name: "defrag", args: []string{"defrag"}, mask: maskTook},
		readCase{name: "defrag cluster", args: []string{"defrag", "--cluster"}, mask: maskTook},
		readCase{name: "defrag one endpoint", args: []string{"--endpoints", p.cl.Endpoints()[1], "defrag"}, mask: maskTook},
		readCase{name: "alarm list", args: []string{"alarm", "list", "-w", "json"}, norm: drop("member_id")},
		readCase{name: "snapshot all endpoints", fails: 5, errWant: "snapshot must be requested to one selected node, not multiple", args: []string{"snapshot", "save", "x.db"}},
		readCase{name: "compaction future", fails: 1, errWant: "etcdserver: mvcc: required revision is a future revision", args: []string{"compaction", "100000"}},
	)
	for _, tc := range cases {
		tc.args = with(tc.args...)
		p.compareRead(tc)
	}
	// The comparisons above hold for failures too: these must succeed, one line per member.
	for _, args := range [][]string{{"endpoint", "status", "--cluster"}, {"endpoint", "health", "--cluster"}, {"endpoint", "hashkv", "--cluster"}, {"defrag", "--cluster"}} {
		r := p.kitRun("", with(args...)...)
		if r.code != 0 || strings.Count(r.stdout, "https://127.0.0.1:") != 3 {
			t.Errorf("etcdkit %v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}

	// The changes, with the certificates from the environment as an operator sets them.
	p.env = []string{"ETCDCTL_CACERT=" + f.CAFile, "ETCDCTL_CERT=" + f.ClientCertFile, "ETCDCTL_KEY=" + f.ClientKeyFile}
	t.Run("move-leader", func(t *testing.T) { compareMoveLeader(t, p) })
	t.Run("member", func(t *testing.T) { compareMemberChanges(t, p) })
	p.env = nil

	// etcdctl reads /metrics over plain HTTP, which a TLS member refuses; etcdkit uses TLS.
	t.Run("check datascale", func(t *testing.T) {
		r := p.kitRun("", with("check", "datascale", "--prefix", "scale/")...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Start data scale check") || !strings.Contains(r.stdout, "\nPASS: Approximate system memory used : ") {
			t.Errorf("check datascale over TLS: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if out := p.must(with("get", "--prefix", "scale/", "--count-only", "-w", "fields")...); !strings.Contains(out, `"Count" : 0`) {
			t.Errorf("keys left: %s", out)
		}
	})

	t.Run("compaction", func(t *testing.T) {
		var resp struct {
			Header struct{ Revision int64 }
		}
		if err := json.Unmarshal([]byte(p.must(with("get", "-w", "json", "probe")...)), &resp); err != nil {
			t.Fatal(err)
		}
		rev := resp.Header.Revision
		ctl := p.ctlRun("", with("compaction", fmt.Sprint(rev-4))...)
		kit := p.kitRun("", with("compaction", fmt.Sprint(rev-3))...)
		ctl.stdout = strings.Replace(ctl.stdout, fmt.Sprint(rev-4), fmt.Sprint(rev-3), 1)
		sameOutput(t, ctl, kit, false, nil)
	})

	t.Run("snapshot save", func(t *testing.T) {
		compareSnapshotSave(t, p, with("--endpoints", p.cl.Endpoints()[2], "snapshot", "save"))
	})

	t.Run("users and roles", func(t *testing.T) {
		// Each program manages its own user and role, named after it; the names are then
		// made alike.
		steps := [][]string{
			{"user", "add", "NAME:pw"},
			{"role", "add", "NAME"},
			{"role", "grant-permission", "NAME", "readwrite", "tls/", "--prefix"},
			{"user", "grant-role", "NAME", "NAME"},
			{"user", "get", "NAME"},
			{"role", "get", "NAME"},
			{"user", "get", "NAME", "-w", "json"},
			{"user", "revoke-role", "NAME", "NAME"},
			{"role", "revoke-permission", "NAME", "tls/", "--prefix"},
			{"user", "delete", "NAME"},
			{"role", "delete", "NAME"},
			{"role", "delete", "NAME"},
		}
		for _, step := range steps {
			var runs []result
			for _, bin := range []string{p.ctl, kitBin} {
				name := filepath.Base(bin)
				args := make([]string, len(step))
				for i, a := range step {
					args[i] = strings.ReplaceAll(a, "NAME", name)
				}
				r := p.run(bin, "", with(args...)...)
				r.stdout, r.stderr = strings.ReplaceAll(r.stdout, name, "NAME"), strings.ReplaceAll(r.stderr, name, "NAME")
				runs = append(runs, r)
			}
			sameOutput(t, runs[0], runs[1], isJSON(step), drop("member_id", "revision", "raft_term"))
		}
	})

	t.Run("auth", func(t *testing.T) {
		p.must(with("user", "add", "root:root-pw")...)
		p.must(with("user", "grant-role", "root", "root")...)
		root := with("--user", "root:root-pw")
		authRev := regexp.MustCompile(`AuthRevision: \d+`)
		var seqs [2][]result
		for i, bin := range []string{p.ctl, kitBin} {
			for _, args := range [][]string{with("auth", "enable"), slices.Concat(root, []string{"auth", "status"}),
				slices.Concat(root, []string{"auth", "disable"}), with("auth", "status")} {
				r := p.run(bin, "", args...)
				r.stdout = authRev.ReplaceAllString(r.stdout, "AuthRevision: N")
				seqs[i] = append(seqs[i], r)
			}
		}
		for i := range seqs[0] {
			sameOutput(t, seqs[0][i], seqs[1][i], false, nil)
		}
		if !strings.Contains(seqs[1][1].stdout, "Authentication Status: true") {
			t.Errorf("auth status after etcdkit's auth enable: %q", seqs[1][1].stdout)
		}
	})
}

// TestCompareHTTPEndpointWithCertificates compares commands given certificate files (as flags
// or from the environment) or --insecure-transport=false with http:// endpoints on a plain
// cluster: etcdctl's client takes the first endpoint's scheme for its connection and dials
// in plaintext, where TLS would fail to reach the members (etcd's e2e move-leader test sets
// the certificates of a TLS run in the environment of its plain one).
func TestCompareHTTPEndpointWithCertificates(t *testing.T) {
	p := newPair(t, etcdtest.Options{})
	f := etcdtest.StartCluster(t, etcdtest.Options{TLS: true}).TLS // files for the flags
	urls := strings.Join(p.cl.ClientURLs(), ",")
	p.must("put", "plain", "v")
	certs := []string{"--cacert", f.CAFile, "--cert", f.ClientCertFile, "--key", f.ClientKeyFile}
	for _, tc := range []readCase{
		{name: "flags", args: append([]string{"--endpoints", urls}, append(slices.Clone(certs), "get", "plain")...)},
		{name: "ca only", args: []string{"--endpoints", urls, "--cacert", f.CAFile, "get", "plain", "-w", "json"}},
		{name: "tls asked", args: []string{"--endpoints", urls, "--insecure-transport=false", "get", "plain"}},
	} {
		p.compareRead(tc)
	}
	p.env = []string{"ETCDCTL_CACERT=" + f.CAFile, "ETCDCTL_CERT=" + f.ClientCertFile, "ETCDCTL_KEY=" + f.ClientKeyFile}
	defer func() { p.env = nil }()
	p.compareRead(readCase{name: "environment", args: []string{"--endpoints", urls, "get", "plain", "-w", "json"}})
	r := p.kitRun("", "--endpoints", p.cl.ClientURLs()[0], "get", "plain", "--print-value-only")
	if r.code != 0 || r.stdout != "v\n" {
		t.Errorf("etcdkit get over http:// with certificates in the environment: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
