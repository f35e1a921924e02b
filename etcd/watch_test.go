//etcdkit:needs Watch

package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// collect runs a watch in the background and returns a function that waits for n events (or
// the watch's end) and returns what came.
func collect(t *testing.T, seq func(func(Event, error) bool)) func(n int) ([]Event, error) {
	t.Helper()
	type item struct {
		ev  Event
		err error
	}
	ch := make(chan item, 1024)
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		for ev, err := range seq {
			ch <- item{ev, err}
			if err != nil {
				return
			}
		}
	}()
	return func(n int) ([]Event, error) {
		t.Helper()
		var out []Event
		timeout := time.NewTimer(10 * time.Second)
		defer timeout.Stop()
		for len(out) < n {
			select {
			case it := <-ch:
				if it.err != nil {
					return out, it.err
				}
				out = append(out, it.ev)
			case <-timeout.C:
				t.Fatalf("waited 10s for %d events, got %d: %v", n, len(out), out)
			}
		}
		return out, nil
	}
}

func describe(evs []Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%s %s=%s@%d ", ev.Type, ev.KV.Key, ev.KV.Value, ev.Revision)
	}
	return strings.TrimSpace(b.String())
}

func TestWatch(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{Args: []string{"--max-request-bytes=8192"}})
	c := newClient(t, cl, Config{})

	t.Run("prefix, put and delete, prev kv", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		next := collectCreated(t, c.Watch(ctx, Prefix("w1/"), PrevKV(), CreatedNotify()))
		mustPut(t, c, "w1/a", "1")
		mustPut(t, c, "other", "x")
		mustPut(t, c, "w1/a", "2")
		if _, err := c.Delete(t.Context(), Key("w1/a")); err != nil {
			t.Fatal(err)
		}
		evs, err := next(3)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := describe(evs), fmt.Sprintf("PUT w1/a=1@%d PUT w1/a=2@%d DELETE w1/a=@%d", evs[0].Revision, evs[0].Revision+2, evs[0].Revision+3); got != want {
			t.Fatalf("events %q, want %q", got, want)
		}
		if !evs[0].IsCreate() || evs[1].IsCreate() || evs[0].PrevKV != nil || string(evs[1].PrevKV.Value) != "1" || string(evs[2].PrevKV.Value) != "2" {
			t.Fatalf("IsCreate or PrevKV wrong: %+v", evs)
		}
		cancel()
		if _, err := next(1); !errors.Is(err, context.Canceled) {
			t.Fatalf("after cancel: %v", err)
		}
	})

	t.Run("from revision, filters, namespace", func(t *testing.T) {
		first := mustPut(t, c, "ns/w2/a", "1")
		mustPut(t, c, "ns/w2/b", "2")
		c.Delete(t.Context(), Key("ns/w2/a"))
		nc := newClient(t, cl, Config{Namespace: "ns/"})
		puts := collect(t, nc.Watch(t.Context(), Prefix("w2/"), FromRevision(first), NoDelete()))
		dels := collect(t, nc.Watch(t.Context(), FromKey("w2/"), FromRevision(first), NoPut()))
		evs, err := puts(2)
		if err != nil || describe(evs) != fmt.Sprintf("PUT w2/a=1@%d PUT w2/b=2@%d", first, first+1) {
			t.Fatalf("puts: %s, %v", describe(evs), err)
		}
		evs, err = dels(1)
		if err != nil || describe(evs) != fmt.Sprintf("DELETE w2/a=@%d", first+2) {
			t.Fatalf("deletes: %s, %v", describe(evs), err)
		}
	})

	t.Run("fragments are merged", func(t *testing.T) {
		first := mustPut(t, c, "w3/0", strings.Repeat("x", 1000))
		for i := 1; i < 30; i++ {
			mustPut(t, c, fmt.Sprintf("w3/%d", i), strings.Repeat("x", 1000))
		}
		evs, err := collect(t, c.Watch(t.Context(), Prefix("w3/"), FromRevision(first)))(30)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range evs {
			if ev.Revision != first+int64(i) || len(ev.KV.Value) != 1000 {
				t.Fatalf("event %d: %s", i, describe(evs[i:i+1]))
			}
		}
	})

	t.Run("compacted", func(t *testing.T) {
		first := mustPut(t, c, "w4/a", "1")
		last := mustPut(t, c, "w4/a", "2")
		if _, err := c.Compact(t.Context(), last); err != nil {
			t.Fatal(err)
		}
		_, err := collect(t, c.Watch(t.Context(), Key("w4/a"), FromRevision(first)))(1)
		var ce *CompactedError
		if !errors.Is(err, ErrCompacted) || !errors.As(err, &ce) || ce.Revision != last {
			t.Fatalf("watch from a compacted revision: %v", err)
		}
	})

	t.Run("many watchers share a stream; break leaves nothing", func(t *testing.T) {
		const n = 20
		var nexts []func(int) ([]Event, error)
		for i := range n {
			nexts = append(nexts, collectCreated(t, c.Watch(t.Context(), Key(fmt.Sprintf("w5/%d", i)), CreatedNotify())))
		}
		var first int64
		for i := range n {
			if rev := mustPut(t, c, fmt.Sprintf("w5/%d", i), "v"); i == 0 {
				first = rev
			}
		}
		for i, next := range nexts {
			if evs, err := next(1); err != nil || string(evs[0].KV.Key) != fmt.Sprintf("w5/%d", i) {
				t.Fatalf("watcher %d: %s, %v", i, describe(evs), err)
			}
		}
		for ev, err := range c.Watch(t.Context(), Key("w5/0"), FromRevision(first)) {
			if err != nil || ev.Type != EventPut {
				t.Fatal(ev, err)
			}
			break
		}
	})

	t.Run("bad arguments", func(t *testing.T) {
		for _, args := range []struct {
			r    KeyRange
			opts []WatchOption
		}{{Key(""), nil}, {Key("a"), []WatchOption{FromRevision(-1)}}} {
			for _, err := range c.Watch(t.Context(), args.r, args.opts...) {
				if !errors.Is(err, ErrInvalidArgument) {
					t.Errorf("Watch(%v) = %v, want ErrInvalidArgument", args, err)
				}
			}
		}
	})
}

// collectCreated is collect for a watch asked with CreatedNotify: it returns once the watch
// is created on the server, so that writes made next are seen.
func collectCreated(t *testing.T, seq func(func(Event, error) bool)) func(n int) ([]Event, error) {
	t.Helper()
	next := collect(t, seq)
	if evs, err := next(1); err != nil || evs[0].Type != EventCreated {
		t.Fatalf("watch not created: %s, %v", describe(evs), err)
	}
	return next
}

func TestWatchProgress(t *testing.T) {
	t.Parallel()
	t.Run("3.7 answers", func(t *testing.T) {
		t.Parallel()
		cl := etcdtest.StartCluster(t, etcdtest.Options{Version: etcdtest.DefaultVersion()})
		c := newClient(t, cl, Config{})
		rev := mustPut(t, c, "p/a", "1")
		next := collectCreated(t, c.Watch(t.Context(), Prefix("p/"), ProgressNotify(), CreatedNotify()))
		if err := c.RequestProgress(t.Context()); err != nil {
			t.Fatal(err)
		}
		evs, err := next(1)
		if err != nil || evs[0].Type != EventProgress || evs[0].Revision < rev {
			t.Fatalf("after RequestProgress: %s, %v", describe(evs), err)
		}
	})
	t.Run("3.4 is refused", func(t *testing.T) {
		t.Parallel()
		cl := etcdtest.StartCluster(t, etcdtest.Options{Version: etcdtest.DebianVersion()})
		c := newClient(t, cl, Config{})
		if err := c.RequestProgress(t.Context()); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("RequestProgress on 3.4 = %v, want ErrNotSupported", err)
		}
	})
}

// TestWatchResponses: WatchResponses yields whole responses with their headers: the two
// events of one transaction together, the created and progress notifications alone.
func TestWatchResponses(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	type item struct {
		resp WatchResponse
		err  error
	}
	ch := make(chan item, 16)
	go func() {
		for resp, err := range c.WatchResponses(ctx, Prefix("wr/"), CreatedNotify(), ProgressNotify()) {
			ch <- item{resp, err}
		}
		close(ch)
	}()
	next := func(what string) WatchResponse {
		t.Helper()
		select {
		case it := <-ch:
			if it.err != nil {
				t.Fatalf("%s: %v", what, it.err)
			}
			return it.resp
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no response in 10s", what)
		}
		return WatchResponse{}
	}
	created := next("created")
	if len(created.Events) != 1 || created.Events[0].Type != EventCreated || created.Header.Revision != created.Events[0].Revision || created.Header.MemberID == 0 {
		t.Fatalf("first response %+v; want the created notification with its header", created)
	}
	res, err := c.Txn(ctx, Txn{Then: []Op{OpPut("wr/a", "1"), OpPut("wr/b", "2")}})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, "wr/c", "3")
	txn := next("the transaction")
	if got := describe(txn.Events); got != fmt.Sprintf("PUT wr/a=1@%d PUT wr/b=2@%d", res.Header.Revision, res.Header.Revision) {
		t.Fatalf("the transaction's response holds %s", got)
	}
	if h := txn.Header; h.Revision != res.Header.Revision || h.ClusterID != res.Header.ClusterID || h.MemberID == 0 || h.RaftTerm == 0 {
		t.Fatalf("its header %+v, want the write's revision and cluster %+v", h, res.Header)
	}
	if put := next("the put"); len(put.Events) != 1 || string(put.Events[0].KV.Key) != "wr/c" || put.Header.Revision != put.Events[0].Revision {
		t.Fatalf("the put's response %+v", put)
	}
	if !versionAtLeast(cl.Version, 3, 5, 8) {
		return // no trustworthy progress requests before 3.5.8 (see TestWatchProgress)
	}
	if err := c.RequestProgress(ctx); err != nil {
		t.Fatal(err)
	}
	if prog := next("progress"); len(prog.Events) != 1 || prog.Events[0].Type != EventProgress || prog.Header.Revision != prog.Events[0].Revision {
		t.Fatalf("progress response %+v", prog)
	}
}

// TestWatchCreatedNotify: with CreatedNotify the first thing yielded is EventCreated, at the
// store's revision; a write made right after it is always seen.
func TestWatchCreatedNotify(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	before := mustPut(t, c, "cn/before", "x")
	for i := range 20 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		prefix := fmt.Sprintf("cn/%d/", i)
		next := collect(t, c.Watch(ctx, Prefix(prefix), CreatedNotify()))
		evs, err := next(1)
		if err != nil || evs[0].Type != EventCreated || evs[0].Revision < before {
			t.Fatalf("first event = %s, %v; want CREATED at %d or later", describe(evs), err, before)
		}
		key := prefix + "k"
		before = mustPut(t, c, key, "v")
		if evs, err = next(1); err != nil || string(evs[0].KV.Key) != key {
			t.Fatalf("after CREATED, put %s: got %s, %v", key, describe(evs), err)
		}
		cancel()
	}
}

// TestManyWatchers: 10,000 watchers on one client (one stream), each on its own key, created
// while a writer keeps changing those keys with 1 KiB values; every watcher is created and
// gets events. The hub must never block on a send while the server waits for it to read
// (gRPC flow control both ways).
func TestManyWatchers(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	const n = 10000
	value := strings.Repeat("v", 1024)
	writeRound := func() error {
		for i := 0; i < n; i += 100 { // 100 puts a transaction
			var ops []Op
			for j := i; j < i+100; j++ {
				ops = append(ops, OpPut(fmt.Sprintf("many/%05d", j), value))
			}
			if _, err := c.Txn(ctx, Txn{Then: ops}); err != nil {
				return err
			}
		}
		return nil
	}
	stopWriter := make(chan struct{})
	writer := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stopWriter:
				writer <- nil
				return
			default:
			}
			if err := writeRound(); err != nil {
				writer <- err
				return
			}
		}
	}()

	created := make(chan struct{}, n)
	got := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("many/%05d", i)
			for ev, err := range c.Watch(ctx, Key(key), CreatedNotify()) {
				if err != nil {
					return
				}
				if ev.Type == EventCreated {
					created <- struct{}{}
					continue
				}
				got <- string(ev.KV.Key)
				return
			}
		}()
	}
	for i := range n {
		select {
		case <-created:
		case <-ctx.Done():
			t.Fatalf("only %d of %d watchers created", i, n)
		}
	}
	close(stopWriter)
	if err := <-writer; err != nil {
		t.Fatal(err)
	}
	if err := writeRound(); err != nil { // every key changes after every watcher exists
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < n {
		select {
		case k := <-got:
			seen[k] = true
		case <-ctx.Done():
			t.Fatalf("%d of %d watchers got an event", len(seen), n)
		}
	}
	cancel()
	wg.Wait()
}
