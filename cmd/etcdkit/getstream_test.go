package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/etcd/etcdtls"
)

// TestCompareGetStream compares get --stream (3.7's RangeStream) on 400 keys of growing size,
// which the server sends in several chunks, with every format and the options the server
// accepts or refuses.
func TestCompareGetStream(t *testing.T) {
	p := newPair(t, etcdtest.Options{})
	c, err := etcd.New(etcd.Config{Endpoints: p.cl.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 400 {
		if _, err := c.Put(t.Context(), fmt.Sprintf("s/%04d", i), strings.Repeat("v", 20*i)); err != nil {
			t.Fatal(err)
		}
	}
	p.must("put", "t", "outside")
	chunks := 0
	for _, err := range c.RangeStream(t.Context(), etcd.Prefix("s/")) {
		if err != nil {
			t.Fatal(err)
		}
		chunks++
	}
	if chunks < 4 {
		t.Fatalf("the range came in %d chunks; the test wants several", chunks)
	}
	rev := p.revision()
	for _, tc := range []readCase{
		{name: "prefix", args: []string{"get", "--stream", "--prefix", "s/"}},
		{name: "prefix json", args: []string{"get", "--stream", "--prefix", "s/", "-w", "json"}},
		{name: "prefix fields", args: []string{"get", "--stream", "--prefix", "s/", "--limit", "30", "-w", "fields"}},
		{name: "prefix protobuf", args: []string{"get", "--stream", "--prefix", "s/", "-w", "protobuf"}},
		{name: "all", args: []string{"get", "--stream", "", "--prefix", "--keys-only"}},
		{name: "limit", args: []string{"get", "--stream", "--prefix", "s/", "--limit", "155"}},
		{name: "limit json", args: []string{"get", "--stream", "--prefix", "s/", "--limit", "155", "-w", "json"}},
		{name: "keys-only", args: []string{"get", "--stream", "--prefix", "s/", "--keys-only"}},
		{name: "keys-only json", args: []string{"get", "--stream", "--prefix", "s/", "--keys-only", "-w", "json"}},
		{name: "count-only fields", args: []string{"get", "--stream", "--prefix", "s/", "--count-only", "-w", "fields"}},
		{name: "count-only json", args: []string{"get", "--stream", "--prefix", "s/", "--count-only", "-w", "json"}},
		{name: "count-only simple", args: []string{"get", "--stream", "--prefix", "s/", "--count-only"}},
		{name: "range", args: []string{"get", "--stream", "s/0100", "s/0300", "--print-value-only"}},
		{name: "from-key", args: []string{"get", "--stream", "--from-key", "s/0390"}},
		{name: "one key", args: []string{"get", "--stream", "s/0007", "-w", "json"}},
		{name: "missing key", args: []string{"get", "--stream", "nope"}},
		{name: "old revision", args: []string{"get", "--stream", "--prefix", "s/", "--rev", fmt.Sprint(rev - 350)}},
		{name: "future revision", args: []string{"get", "--stream", "--prefix", "s/", "--rev", fmt.Sprint(rev + 10)}},
		{name: "serializable", args: []string{"get", "--stream", "--prefix", "s/", "--consistency", "s", "--limit", "20"}},
		{name: "order ascend", args: []string{"get", "--stream", "--prefix", "s/", "--order", "ASCEND", "--limit", "12"}},
		{name: "sort-by value", args: []string{"get", "--stream", "--prefix", "s/", "--sort-by", "VALUE", "--limit", "12"}},
		{name: "order descend refused", args: []string{"get", "--stream", "--prefix", "s/", "--order", "DESCEND"}},
		{name: "filter refused", args: []string{"get", "--stream", "--prefix", "s/", "--min-mod-rev", "5"}},
	} {
		p.compareRead(tc)
	}
}

// TestCompareGetStreamSecured compares get --stream on three members that require client
// certificates, with auth on and every endpoint given: a user reads its prefix in several
// chunks and is refused another.
func TestCompareGetStreamSecured(t *testing.T) {
	p, certs := startSecured(t, 3)
	c, err := etcd.New(etcd.Config{Endpoints: p.cl.Endpoints(), TLS: etcdtls.New(p.cl.ClientTLS()), Username: "root", Password: rootPassword})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 200 {
		if _, err := c.Put(t.Context(), fmt.Sprintf("app/%04d", i), strings.Repeat("v", 20*i)); err != nil {
			t.Fatal(err)
		}
	}
	app := append(slices.Clone(certs), "--user", "app:"+appPassword, "get", "--stream")
	with := func(args ...string) []string { return append(slices.Clone(app), args...) }
	for _, tc := range []readCase{
		{name: "prefix", args: with("--prefix", "app/")},
		{name: "prefix json", args: with("--prefix", "app/", "-w", "json"), norm: drop("member_id", "raft_term")},
		{name: "limit keys-only", args: with("--prefix", "app/", "--limit", "120", "--keys-only")},
		{name: "count-only fields", args: append(with("--prefix", "app/", "--count-only", "-w", "fields"), "--endpoints", p.cl.Endpoints()[1])},
		{name: "permission denied", args: with("--prefix", "other/")},
		{name: "wrong password", args: append(slices.Clone(certs), "--user", "app:"+wrongPassword, "get", "--stream", "app/k")},
	} {
		p.compareRead(tc)
	}
}
