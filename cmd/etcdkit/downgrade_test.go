package main

import (
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestCompareDowngrade compares downgrade validate, enable and cancel on a 3.7 cluster, whose
// only valid target is 3.6: answers in every format, refused targets, bad arguments, and an
// enable-twice-then-cancel cycle run by each program in turn, checked in the members' status.
func TestCompareDowngrade(t *testing.T) {
	p := newPair(t, etcdtest.Options{Size: 3})
	for _, tc := range []readCase{
		{name: "validate", args: []string{"downgrade", "validate", "3.6"}},
		{name: "validate patch", args: []string{"downgrade", "validate", "3.6.0"}},
		{name: "validate json", args: []string{"downgrade", "validate", "3.6", "-w", "json"}},
		{name: "validate protobuf", args: []string{"downgrade", "validate", "3.6", "-w", "protobuf"}},
		{name: "validate current", fails: 1, errWant: "etcdserver: invalid downgrade target version", args: []string{"downgrade", "validate", "3.7"}},
		{name: "validate two below", fails: 1, errWant: "etcdserver: invalid downgrade target version", args: []string{"downgrade", "validate", "3.5"}},
		{name: "validate v prefix", fails: 1, errWant: "etcdserver: wrong downgrade target version format", args: []string{"downgrade", "validate", "v3.6"}},
		{name: "validate garbage", fails: 1, errWant: "etcdserver: wrong downgrade target version format", args: []string{"downgrade", "validate", "x"}},
		{name: "validate no version", fails: 128, errWant: "TARGET_VERSION not provided", args: []string{"downgrade", "validate"}},
		{name: "validate empty version", fails: 128, errWant: "target version not provided", args: []string{"downgrade", "validate", ""}},
		{name: "enable too many", fails: 128, errWant: "too many arguments", args: []string{"downgrade", "enable", "3.6", "3.5"}},
		{name: "enable no version", fails: 128, errWant: "TARGET_VERSION not provided", args: []string{"downgrade", "enable"}},
		{name: "enable bad", fails: 1, errWant: "etcdserver: invalid downgrade target version", args: []string{"downgrade", "enable", "3.5"}},
		{name: "cancel none", args: []string{"downgrade", "cancel"}},
		{name: "cancel json", args: []string{"downgrade", "cancel", "-w", "json"}},
		{name: "cancel ignores arguments", args: []string{"downgrade", "cancel", "x", "y"}},
	} {
		// One member answers both programs: the header names the member.
		tc.args = append([]string{"--endpoints", p.cl.Endpoints()[0]}, tc.args...)
		p.compareRead(tc)
	}

	var runs [2][]result
	for i, bin := range []string{p.ctl, kitBin} {
		runs[i] = append(runs[i], p.run(bin, "", "downgrade", "enable", "3.6"))
		if st := p.must("endpoint", "status", "-w", "table"); strings.Count(st, "3.6.0 │              true │") != 3 {
			t.Errorf("%s: after enable, the members' status is\n%s", bin, st)
		}
		runs[i] = append(runs[i], p.run(bin, "", "downgrade", "enable", "3.6"))
		runs[i] = append(runs[i], p.run(bin, "", "downgrade", "validate", "3.6"))
		runs[i] = append(runs[i], p.run(bin, "", "--endpoints", p.cl.Endpoints()[1], "downgrade", "cancel", "-w", "protobuf"))
		if st := p.must("endpoint", "status", "-w", "table"); strings.Count(st, "│             false │") != 3 {
			t.Errorf("%s: after cancel, the members' status is\n%s", bin, st)
		}
	}
	for j := range runs[0] {
		sameOutput(t, runs[0][j], runs[1][j], false, nil)
	}
}
