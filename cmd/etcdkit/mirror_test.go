package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestCompareMakeMirror runs etcdctl's and etcdkit's make-mirror side by side from one source
// cluster, each into its own destination that requires client certificates: the destination
// must hold the source's keys under the new prefix after the first copy and after further
// puts, deletes and transactions (larger than --max-txn-ops), both must print the same count
// after 30 seconds, and stop alike when interrupted; started again at a past --rev with
// --no-dest-prefix, both replay the history into the destination's root. Errors are
// compared on the same data.
// It waits for the count, so it runs beside the other parallel tests.
func TestCompareMakeMirror(t *testing.T) {
	t.Parallel()
	p := newPair(t, etcdtest.Options{})
	dsts := []*etcdtest.Cluster{
		etcdtest.StartCluster(t, etcdtest.Options{ClientCertAuth: true}),
		etcdtest.StartCluster(t, etcdtest.Options{ClientCertAuth: true}),
	}
	destFlags := func(d *etcdtest.Cluster) []string {
		f := d.TLS
		return []string{"--dest-cacert", f.CAFile, "--dest-cert", f.ClientCertFile, "--dest-key", f.ClientKeyFile}
	}
	// dump lists a destination's keys and values.
	dump := func(d *etcdtest.Cluster) string {
		f := d.TLS
		return p.must("--endpoints", d.Endpoints()[0], "--cacert", f.CAFile, "--cert", f.ClientCertFile, "--key", f.ClientKeyFile,
			"get", "--prefix", "")
	}
	// want is the source's keys under m/, renamed under n/.
	want := func() string {
		out := p.must("get", "--prefix", "m/")
		lines := strings.SplitAfter(out, "\n")
		for i := 0; i < len(lines); i += 2 {
			lines[i] = strings.Replace(lines[i], "m/", "n/", 1)
		}
		return strings.Join(lines, "")
	}
	synced := func(what string) {
		t.Helper()
		for i, d := range dsts {
			var got, exp string
			waitFor(t, fmt.Sprintf("%s in destination %d", what, i), func() bool {
				got, exp = dump(d), want()
				return got == exp
			})
		}
	}

	for _, kv := range [][]string{{"m/a", "1"}, {"m/b", "2"}, {"m/c", "3"}, {"m/d", "4"}, {"m/gone", "x"}, {"other", "o"}, {"m/a", "one"}} {
		p.must("put", kv[0], kv[1])
	}
	p.must("del", "m/gone")
	var bgs []*background
	for i, bin := range []string{p.ctl, kitBin} {
		args := append([]string{"make-mirror", "--prefix", "m/", "--dest-prefix", "n/", "--max-txn-ops", "2"}, destFlags(dsts[i])...)
		bgs = append(bgs, p.start(bin, append(args, dsts[i].Endpoints()[0])...))
	}
	started := time.Now()
	synced("the first copy")

	p.must("put", "m/e", "5")
	p.must("del", "m/a")
	p.must("put", "other", "not mirrored")
	p.ctlRun("\nput m/f 6\nput m/g 7\nput m/h 8\ndel m/b\nput m/c three\n\n\n", "txn")
	p.must("del", "--prefix", "m/d")
	synced("the changes")

	// Both print their count 30 seconds after they start: 4 keys copied, 8 changes applied.
	for i, bg := range bgs {
		if line := bg.lineWithin(time.Until(started.Add(45 * time.Second))); line != "12\n" {
			t.Errorf("program %d printed %q after 30 s, want 12", i, line)
		}
	}
	var runs []result
	for _, bg := range bgs {
		bg.interrupt()
		runs = append(runs, bg.wait())
	}
	// etcdctl dies of the signal; etcdkit exits with the shell's code for it.
	if runs[0].code != -1 || runs[1].code != 130 || runs[0].stdout != "" || runs[1].stdout != "" {
		t.Errorf("after SIGINT: etcdctl %+v, etcdkit %+v", runs[0], runs[1])
	}

	// From a past revision, to the destination's root: the history from --rev is replayed.
	before := want()
	p.must("put", "m/x", "9")
	from := p.revision()
	p.must("put", "m/y", "10")
	for i, bin := range []string{p.ctl, kitBin} {
		args := append([]string{"make-mirror", "--prefix", "m/", "--no-dest-prefix", "--rev", fmt.Sprint(from)}, destFlags(dsts[i])...)
		bgs[i] = p.start(bin, append(args, dsts[i].Endpoints()[0])...)
	}
	p.must("del", "m/x")
	for i, d := range dsts {
		waitFor(t, fmt.Sprintf("the replayed history in destination %d", i), func() bool {
			return dump(d) == before+"y\n10\n"
		})
	}
	for _, bg := range bgs {
		bg.interrupt()
		bg.wait()
	}

	rev := p.revision()
	p.must("compaction", fmt.Sprint(rev))
	dst := append(destFlags(dsts[0]), dsts[0].Endpoints()[0])
	for _, tc := range []readCase{
		{name: "compacted", fails: 1, errWant: "etcdserver: mvcc: required revision has been compacted", args: append([]string{"make-mirror", "--rev", "2"}, dst...)},
		{name: "no destination", fails: 128, errWant: "make-mirror takes one destination argument", args: []string{"make-mirror"}},
		{name: "two destinations", fails: 128, errWant: "make-mirror takes one destination argument", args: []string{"make-mirror", "a", "b"}},
		{name: "both prefix flags", fails: 128, errWant: "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one", args: append([]string{"make-mirror", "--dest-prefix", "x", "--no-dest-prefix"}, dst...)},
	} {
		p.compareRead(tc)
	}
}
