//etcdkit:needs Watch

package etcd

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// sameKVs reports where a mirror's keys differ from the server's, or "" when they match.
func sameKVs(got, want []KeyValue) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d keys, server has %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if string(g.Key) != string(w.Key) || string(g.Value) != string(w.Value) ||
			g.ModRevision != w.ModRevision || g.CreateRevision != w.CreateRevision || g.Version != w.Version {
			return fmt.Sprintf("key %d: %s=%s@%d, server has %s=%s@%d", i, g.Key, g.Value, g.ModRevision, w.Key, w.Value, w.ModRevision)
		}
	}
	return ""
}

// TestMirrorFollowsWriterThroughFaults mirrors a prefix on a three-member cluster while a
// writer puts and deletes keys in it (and beside it), every connection of the mirror's client
// is dropped, and then every member is cut off from it while the history it needs is
// compacted. Whenever it is read, the mirror holds exactly the server's keys at the revision
// it reports; after the writer stops, it equals a linearizable read of the prefix.
func TestMirrorFollowsWriterThroughFaults(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3, Proxy: true})
	var direct []string
	for _, m := range cl.Members {
		direct = append(direct, m.DirectEndpoint())
	}
	w := newClient(t, cl, Config{Endpoints: direct})
	c := newClient(t, cl, Config{DialTimeout: time.Second})
	ctx := t.Context()
	for i := range 20 {
		mustPut(t, w, fmt.Sprintf("mir/%02d", i), "seed")
	}
	m, err := c.NewMirror(ctx, Prefix("mir/"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Len() != 20 {
		t.Fatalf("mirror starts with %d keys, want 20", m.Len())
	}

	writerDone := make(chan int)
	stopWriter := make(chan struct{})
	go func() {
		n := 0
		rng := rand.New(rand.NewPCG(1, 2))
		defer func() { writerDone <- n }()
		for {
			select {
			case <-stopWriter:
				return
			default:
			}
			key := fmt.Sprintf("mir/%02d", rng.IntN(40))
			var err error
			switch rng.IntN(4) {
			case 0:
				_, err = w.Delete(ctx, Key(key))
			case 1:
				_, err = w.Put(ctx, "mirx/"+key, "beside")
			default:
				_, err = w.Put(ctx, key, fmt.Sprint(n))
			}
			if err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			n++
		}
	}()
	check := func(when string) {
		t.Helper()
		kvs, rev := m.Range(Prefix("mir/"))
		res, err := w.Range(ctx, Prefix("mir/"), AtRevision(rev))
		if errors.Is(err, ErrCompacted) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if d := sameKVs(kvs, res.KVs); d != "" {
			t.Fatalf("%s, at revision %d: %s", when, rev, d)
		}
	}
	pause := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); {
			check("while writing")
			time.Sleep(50 * time.Millisecond)
		}
	}
	pause(500 * time.Millisecond)
	for _, mem := range cl.Members {
		mem.Proxy().DropConnections()
	}
	pause(500 * time.Millisecond)
	before := m.Revision()
	for _, mem := range cl.Members {
		mem.Proxy().Blackhole()
		mem.Proxy().DropConnections()
	}
	cut := time.Now()
	waitMirrorErr(t, m, true, 5*time.Second)
	t.Logf("mirror reported being cut off after %v: %v", time.Since(cut).Round(time.Millisecond), m.Err())
	if err := m.Err(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("cut-off mirror's Err = %v, want ErrUnavailable", err)
	}
	res, err := w.Put(ctx, "mir/compacted-at", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Compact(ctx, res.Header.Revision); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	for _, mem := range cl.Members {
		mem.Proxy().Unblackhole()
	}
	waitMirrorErr(t, m, false, 10*time.Second)
	pause(time.Second)
	close(stopWriter)
	writes := <-writerDone
	if !versionAtLeast(cl.Version, 3, 5, 8) {
		// Older servers cannot tell the mirror of revisions outside its range (no progress
		// requests): a last write inside it brings the mirror to the store's revision.
		mustPut(t, w, "mir/~last", "x")
	}

	final, err := w.Range(ctx, Prefix("mir/"))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := m.WaitForRevision(wctx, final.Header.Revision); err != nil {
		t.Fatalf("waiting for revision %d (mirror at %d): %v", final.Header.Revision, m.Revision(), err)
	}
	kvs, rev := m.Range(Prefix("mir/"))
	if d := sameKVs(kvs, final.KVs); d != "" {
		t.Fatalf("after the writer stopped, at revision %d: %s", rev, d)
	}
	m.mu.RLock()
	resyncs := m.resyncs
	m.mu.RUnlock()
	if resyncs < 2 {
		t.Fatalf("%d listings: the compaction at %d (mirror at %d before the cut) should have forced another", resyncs, res.Header.Revision, before)
	}
	t.Logf("mirror: %d writes, %d listings, %d keys equal to a linearizable read at revision %d (caught up in %v)",
		writes, resyncs, len(kvs), final.Header.Revision, time.Since(start).Round(10*time.Microsecond))
}

// waitMirrorErr waits until m.Err() is non-nil (set) or nil (!set), failing after limit.
func waitMirrorErr(t *testing.T, m *Mirror, set bool, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); (m.Err() != nil) != set; {
		if time.Now().After(deadline) {
			t.Fatalf("after %v, mirror's Err = %v", limit, m.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMirrorReads covers reading one's own writes, ranges from memory, a write outside the
// range, and the end of the mirror.
func TestMirrorReads(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	for _, k := range []string{"mr/a", "mr/b", "mr/c", "mr/d", "mrx"} {
		mustPut(t, c, k, k)
	}
	m, err := c.NewMirror(ctx, Prefix("mr/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		r    KeyRange
		want []string
	}{
		{Prefix("mr/"), []string{"mr/a", "mr/b", "mr/c", "mr/d"}},
		{Key("mr/b"), []string{"mr/b"}},
		{Key("mr/bb"), nil},
		{Between("mr/b", "mr/d"), []string{"mr/b", "mr/c"}},
		{FromKey("mr/c"), []string{"mr/c", "mr/d"}},
		{All(), []string{"mr/a", "mr/b", "mr/c", "mr/d"}},
	} {
		kvs, _ := m.Range(tc.r)
		var all []string
		for kv := range m.All(tc.r) {
			all = append(all, string(kv.Key))
		}
		if got := keysOf(kvs); !slices.Equal(got, tc.want) || !slices.Equal(all, tc.want) {
			t.Errorf("Range(%v) = %q, All = %q, want %q", tc.r, got, all, tc.want)
		}
	}

	// Read your own write.
	rev := mustPut(t, c, "mr/e", "new")
	if err := m.WaitForRevision(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if kv, ok := m.Get("mr/e"); !ok || string(kv.Value) != "new" || kv.ModRevision != rev {
		t.Fatalf("own write: %+v, %v", kv, ok)
	}
	res, err := c.Delete(ctx, Key("mr/a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WaitForRevision(ctx, res.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Get("mr/a"); ok || m.Len() != 4 {
		t.Fatalf("own delete: still there, or %d keys", m.Len())
	}

	// A write beside the range: only a progress notification can tell the mirror, and only
	// servers from 3.5.8 on answer progress requests reliably.
	if !versionAtLeast(cl.Version, 3, 5, 8) {
		t.Logf("etcd %s: no progress requests, so a write beside the range is not waited for", cl.Version)
		m.Close()
		return
	}
	rev = mustPut(t, c, "mrx", "beside")
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := m.WaitForRevision(wctx, rev); err != nil {
		t.Fatalf("waiting for a write beside the range: %v", err)
	}
	t.Logf("a write beside the range reached the mirror in %v", time.Since(start).Round(10*time.Microsecond))

	m.Close()
	m.Close()
	if err := m.WaitForRevision(ctx, rev+100); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed mirror: %v", err)
	}
	if !errors.Is(m.Err(), ErrClosed) {
		t.Fatalf("closed mirror: Err %v", m.Err())
	}
	if kv, ok := m.Get("mr/e"); !ok || string(kv.Value) != "new" {
		t.Fatalf("a closed mirror should stay readable: %+v, %v", kv, ok)
	}

	// A mirror whose client closes stops with ErrClosed.
	c2, err := New(Config{Endpoints: cl.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := c2.NewMirror(ctx, Prefix("mr/"))
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	if err := m2.WaitForRevision(ctx, rev+100); !errors.Is(err, ErrClosed) {
		t.Fatalf("mirror of a closed client: %v", err)
	}
	m2.Close()
	if _, err := c2.NewMirror(ctx, Prefix("mr/")); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewMirror on a closed client: %v", err)
	}
	if _, err := c.NewMirror(ctx, Between("b", "a")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("NewMirror of an inverted range: %v", err)
	}
}

// Keep a prefix in memory and read your own writes from it.
func ExampleClient_NewMirror() {
	c, err := New(Config{Endpoints: strings.Split(os.Getenv(exampleEndpointsEnv), ",")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Put(ctx, "example-mirror/color", "blue"); err != nil {
		log.Fatal(err)
	}

	m, err := c.NewMirror(ctx, Prefix("example-mirror/"))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	res, err := c.Put(ctx, "example-mirror/size", "XL")
	if err != nil {
		log.Fatal(err)
	}
	if err := m.WaitForRevision(ctx, res.Header.Revision); err != nil {
		log.Fatal(err)
	}
	for kv := range m.All(Prefix("example-mirror/")) {
		fmt.Printf("%s=%s\n", kv.Key, kv.Value)
	}
	kv, ok := m.Get("example-mirror/color")
	fmt.Println(string(kv.Value), ok, m.Revision() >= res.Header.Revision)
	// Output:
	// example-mirror/color=blue
	// example-mirror/size=XL
	// blue true true
}
