package faults

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
)

// TestWatchUnderFlaps: one writer puts keys under a prefix nobody else writes, so that the
// prefix's revisions are contiguous, while a watch on another client lives through network
// flaps (every connection dropped, or one member blackholed and then cut off; 20 of them in
// the full suite) and a member paused with SIGSTOP. The watch yields every revision exactly
// once, in order.
func TestWatchUnderFlaps(t *testing.T) {
	cl := startCluster(t)
	writer := newClient(t, fast, cl.Endpoints()...)
	watcher := newClient(t, fast, cl.Endpoints()...)
	ctx := t.Context()
	flaps := pick(6, 20)
	pause := pick(2*time.Second, 8*time.Second) // the full suite outlasts the keep-alive (6s)

	res, err := writer.Put(ctx, "wf/start", "")
	if err != nil {
		t.Fatal(err)
	}
	start := res.Header.Revision

	var (
		mu         sync.Mutex
		seen       = map[int64]int{}
		last       int64
		outOfOrder int64
		highest    atomic.Int64
		watchErr   error
	)
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ev, err := range watcher.Watch(wctx, etcd.Prefix("wf/"), etcd.FromRevision(start+1)) {
			if err != nil {
				if wctx.Err() == nil {
					watchErr = err
				}
				return
			}
			mu.Lock()
			seen[ev.Revision]++
			if ev.Revision <= last {
				outOfOrder++
			}
			last = max(last, ev.Revision)
			mu.Unlock()
			highest.Store(last)
		}
	}()

	var acked atomic.Int64 // the revision of the writer's latest acknowledged put
	var puts, failed atomic.Int64
	pctx, stopWriter := context.WithCancel(ctx)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for i := 0; pctx.Err() == nil; i++ {
			cctx, cancel := context.WithTimeout(pctx, 2*time.Second)
			res, err := writer.Put(cctx, fmt.Sprintf("wf/%06d", i), "v")
			cancel()
			puts.Add(1)
			if err != nil {
				failed.Add(1)
				sleepCtx(pctx, 20*time.Millisecond)
				continue
			}
			acked.Store(res.Header.Revision)
			sleepCtx(pctx, 2*time.Millisecond)
		}
	}()

	// caughtUp waits until the watch has yielded what the writer had acknowledged.
	var worst time.Duration
	caughtUp := func(what string) {
		target := acked.Load()
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s: waited for revision %d; the watch reached %d; the watcher's endpoints: %+v", what, target, highest.Load(), watcher.EndpointStates())
			}
		})
		worst = max(worst, waitUntil(t, 30*time.Second, what, func() bool { return highest.Load() >= target }))
	}
	time.Sleep(300 * time.Millisecond)
	for i := range flaps {
		if i%2 == 0 {
			for _, m := range cl.Members {
				m.Proxy().DropConnections()
			}
		} else {
			p := cl.Members[i%3].Proxy()
			p.Blackhole()
			time.Sleep(time.Second)
			p.DropConnections()
			p.Unblackhole()
		}
		caughtUp(fmt.Sprintf("watch after flap %d", i))
		time.Sleep(200 * time.Millisecond)
	}
	paused := cl.Members[1]
	if err := paused.Pause(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(pause)
	if err := paused.Resume(); err != nil {
		t.Fatal(err)
	}
	caughtUp("watch after the pause")
	stopWriter()
	<-wrote

	// The final revision, read linearizably; only the writer moves it.
	final, err := writer.Range(ctx, etcd.Prefix("wf/"), etcd.CountOnly())
	if err != nil {
		t.Fatal(err)
	}
	end := final.Header.Revision
	waitUntil(t, 30*time.Second, "the watch reaching the final revision", func() bool { return highest.Load() >= end })
	stopWatch()
	<-watched
	if watchErr != nil {
		t.Fatalf("watch ended with %v", watchErr)
	}

	var missing, dup int64
	for rev := start + 1; rev <= end; rev++ {
		switch n := seen[rev]; {
		case n == 0:
			missing++
		case n > 1:
			dup += int64(n - 1)
		}
	}
	if missing+dup+outOfOrder > 0 {
		t.Errorf("revisions %d..%d: %d missing, %d duplicated, %d out of order", start+1, end, missing, dup, outOfOrder)
	}
	row{
		scenario: "watch/flaps+pause", ops: end - start, faults: flaps + 1, lost: missing, dup: dup + outOfOrder,
		ambiguous: failed.Load(), recovery: worst,
		note: fmt.Sprintf("%d puts, %d failed; %d out of order; pause %v", puts.Load(), failed.Load(), outOfOrder, pause),
	}.log(t)
}

// TestWatchCompaction: a ListWatch on one member is cut off by its proxy while another client
// writes, deletes and compacts past the watch's revision. When the member is reachable again,
// the watch finds its history compacted: a plain Watch from that revision fails with the
// distinct *CompactedError, and the ListWatch lists again (a second Resync) and ends holding
// exactly the server's state.
func TestWatchCompaction(t *testing.T) {
	cl := startCluster(t)
	c := newClient(t, fast, cl.Endpoints()[1:]...)
	lw := newClient(t, fast, cl.Members[0].Endpoint())
	ctx := t.Context()
	for i := range 20 {
		if _, err := c.Put(ctx, fmt.Sprintf("cw/%02d", i), "a"); err != nil {
			t.Fatal(err)
		}
	}

	var (
		mu      sync.Mutex
		state   = map[string]string{}
		rev     int64
		resyncs int
		events  int64
		lwErr   error
	)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u, err := range lw.ListWatch(wctx, etcd.Prefix("cw/")) {
			if err != nil {
				if wctx.Err() == nil {
					lwErr = err
				}
				return
			}
			mu.Lock()
			switch {
			case u.Resync:
				resyncs++
				clear(state)
				for _, kv := range u.KVs {
					state[string(kv.Key)] = string(kv.Value)
				}
			case u.Event.Type == etcd.EventPut:
				events++
				state[string(u.Event.KV.Key)] = string(u.Event.KV.Value)
			case u.Event.Type == etcd.EventDelete:
				events++
				delete(state, string(u.Event.KV.Key))
			}
			rev = u.Revision
			mu.Unlock()
		}
	}()
	current := func() int64 { mu.Lock(); defer mu.Unlock(); return rev }
	waitUntil(t, 10*time.Second, "the first listing", func() bool { return current() > 0 })
	before := current()

	p := cl.Members[0].Proxy()
	p.Blackhole()
	p.DropConnections()
	for i := range 20 {
		key := fmt.Sprintf("cw/%02d", i)
		var err error
		if i%3 == 0 {
			_, err = c.Delete(ctx, etcd.Key(key))
		} else {
			_, err = c.Put(ctx, key, "b")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	latest, err := c.Put(ctx, "cw/new", "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compact(ctx, latest.Header.Revision); err != nil {
		t.Fatal(err)
	}

	// A plain watch from the old revision gets the distinct error at once.
	var ce *etcd.CompactedError
	for _, err := range c.Watch(ctx, etcd.Prefix("cw/"), etcd.FromRevision(before+1)) {
		if !errors.As(err, &ce) || !errors.Is(err, etcd.ErrCompacted) || ce.Revision != latest.Header.Revision {
			t.Fatalf("watch from compacted revision %d: %v, want a *CompactedError at %d", before+1, err, latest.Header.Revision)
		}
		break
	}

	p.Unblackhole()
	recovery := waitUntil(t, 30*time.Second, "the ListWatch catching up", func() bool { return current() >= latest.Header.Revision })
	want := map[string]string{}
	for kv, err := range c.Scan(ctx, etcd.Prefix("cw/"), etcd.AtRevision(latest.Header.Revision)) {
		if err != nil {
			t.Fatal(err)
		}
		want[string(kv.Key)] = string(kv.Value)
	}
	stop()
	<-done
	if lwErr != nil {
		t.Fatalf("ListWatch ended with %v", lwErr)
	}
	var lost int64
	if !maps.Equal(state, want) {
		lost = 1
		t.Errorf("ListWatch state %v, server %v", slices.Sorted(maps.Keys(state)), slices.Sorted(maps.Keys(want)))
	}
	if resyncs < 2 {
		t.Errorf("%d resyncs, want a second one after the compaction", resyncs)
	}
	row{
		scenario: "watch/compaction", ops: events + int64(len(want)), faults: 2, lost: lost, recovery: recovery,
		note: fmt.Sprintf("%d resyncs, compacted at %d", resyncs, latest.Header.Revision),
	}.log(t)
}
