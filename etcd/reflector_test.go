//etcdkit:needs Watch

package etcd

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestListWatchResyncsAfterCompaction cuts a list-watch off while keys change and history is
// compacted: it must list again, say so, and end holding exactly the server's keys.
func TestListWatchResyncsAfterCompaction(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{Proxy: true})
	m := cl.Members[0]
	direct := newClient(t, cl, Config{Endpoints: []string{m.DirectEndpoint()}})
	lw := newClient(t, cl, Config{DialTimeout: time.Second})
	ctx := t.Context()
	for i := range 30 {
		mustPut(t, direct, fmt.Sprintf("lw/%02d", i), "a")
	}

	type state struct {
		kvs     map[string]string
		rev     int64
		resyncs int
	}
	states := make(chan state, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		st := state{kvs: map[string]string{}}
		for u, err := range lw.ListWatch(ctx, Prefix("lw/")) {
			if err != nil {
				return
			}
			if u.Resync {
				st.resyncs++
				st.kvs = map[string]string{}
				for _, kv := range u.KVs {
					st.kvs[string(kv.Key)] = string(kv.Value)
				}
			} else if u.Event.Type == EventPut {
				st.kvs[string(u.Event.KV.Key)] = string(u.Event.KV.Value)
			} else {
				delete(st.kvs, string(u.Event.KV.Key))
			}
			st.rev = u.Revision
			states <- state{maps.Clone(st.kvs), st.rev, st.resyncs}
		}
	}()
	t.Cleanup(func() { <-done })
	await := func(rev int64) state {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case st := <-states:
				if st.rev >= rev {
					return st
				}
			case <-timeout:
				t.Fatalf("list-watch never reached revision %d", rev)
			}
		}
	}
	check := func(st state) {
		t.Helper()
		res, err := direct.Range(ctx, Prefix("lw/"), AtRevision(st.rev))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, kv := range res.KVs {
			want[string(kv.Key)] = string(kv.Value)
		}
		if !maps.Equal(st.kvs, want) {
			t.Fatalf("state at %d: %d keys, server has %d", st.rev, len(st.kvs), len(want))
		}
	}
	rev := mustPut(t, direct, "lw/x", "b")
	st := await(rev)
	check(st)
	if st.resyncs != 1 {
		t.Fatalf("%d resyncs before any compaction", st.resyncs)
	}

	// Cut the list-watch off, change keys and compact behind its back.
	m.Proxy().Blackhole()
	m.Proxy().DropConnections()
	for i := range 10 {
		mustPut(t, direct, fmt.Sprintf("lw/%02d", i), "c")
		direct.Delete(ctx, Key(fmt.Sprintf("lw/%02d", 20+i)))
	}
	last := mustPut(t, direct, "lw/y", "d")
	if _, err := direct.Compact(ctx, last); err != nil {
		t.Fatal(err)
	}
	m.Proxy().Unblackhole()
	st = await(last)
	if st.resyncs != 2 {
		t.Fatalf("%d resyncs, want 2 (the first listing and one after the compaction)", st.resyncs)
	}
	check(st)
	rev = mustPut(t, direct, "lw/z", "e")
	check(await(rev))
}
