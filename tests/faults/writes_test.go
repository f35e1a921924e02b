package faults

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestWritesUnderLeaderLoss: 16 writers put unique keys, each once with a unique value, while
// the leader is killed with SIGKILL and started again (twice; five times in the full suite).
// Afterwards every put the client reported successful is there with its value (read
// linearizably by the client, and by etcdctl 3.7.3), no key was written twice (Version 1), and
// no key exists that the client never sent or was told was refused. Puts whose outcome the
// client could not know (ErrUnavailable, deadline) are counted as ambiguous.
func TestWritesUnderLeaderLoss(t *testing.T) {
	ctl := etcdtest.RequireBinary(t, "etcdctl", "v3.7.3")
	cl := startCluster(t)
	c := newClient(t, fast, cl.Endpoints()...)
	ctx := t.Context()
	const writers = 16
	kills := pick(2, 5)

	var (
		mu        sync.Mutex
		acked     = map[string]string{} // key → value, reported successful
		ambiguous = map[string]string{} // may or may not have been applied
		refused   = map[string]bool{}   // certainly not applied (SafeToRetry)
		attempts  atomic.Int64
		faultAt   atomic.Int64 // unix nanos of the last fault
		recovered atomic.Int64 // unix nanos of the first success begun after it; 0 until then
	)
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; wctx.Err() == nil; i++ {
				key := fmt.Sprintf("ll/%02d/%06d", w, i)
				value := fmt.Sprintf("w%d-i%d", w, i)
				begun := time.Now().UnixNano()
				pctx, cancel := context.WithTimeout(wctx, 3*time.Second)
				_, err := c.Put(pctx, key, value)
				cancel()
				attempts.Add(1)
				mu.Lock()
				switch {
				case err == nil:
					acked[key] = value
					if begun > faultAt.Load() {
						recovered.CompareAndSwap(0, time.Now().UnixNano())
					}
				case etcd.SafeToRetry(err):
					refused[key] = true
				default:
					ambiguous[key] = value
				}
				mu.Unlock()
				if err != nil {
					sleepCtx(wctx, 20*time.Millisecond)
				}
			}
		}()
	}

	var worst time.Duration
	time.Sleep(500 * time.Millisecond)
	for k := range kills {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		leader, err := cl.Leader(lctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		recovered.Store(0)
		at := time.Now()
		faultAt.Store(at.UnixNano())
		if err := leader.Kill(); err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		waitUntil(t, 30*time.Second, "a put after the leader's death", func() bool { return recovered.Load() != 0 })
		worst = max(worst, time.Duration(recovered.Load()-at.UnixNano()))
		if err := leader.Start(); err != nil {
			t.Fatalf("restarting %s: %v", leader.Name, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	wg.Wait()

	// First through etcdctl 3.7.3, then through the client: a put that timed out may still be
	// applied after its caller gave up, so the later read may hold more keys (all of them
	// ambiguous), never fewer.
	out, err := exec.CommandContext(ctx, ctl, "--endpoints", strings.Join(cl.Endpoints(), ","),
		"get", "--prefix", "ll/", "--keys-only").Output()
	if err != nil {
		t.Fatalf("etcdctl get: %v", err)
	}
	ctlKeys := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		if key := strings.TrimSpace(line); key != "" {
			ctlKeys[key] = true
		}
	}
	for key := range acked {
		if !ctlKeys[key] {
			t.Errorf("etcdctl lacks acknowledged %s", key)
		}
	}

	// What the cluster holds, read linearizably through the client.
	found := map[string]etcd.KeyValue{}
	for kv, err := range c.Scan(ctx, etcd.Prefix("ll/")) {
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		found[string(kv.Key)] = kv
	}
	var lost, dup, phantom, ambiguousApplied int64
	for key, value := range acked {
		if kv, ok := found[key]; !ok || string(kv.Value) != value {
			lost++
			t.Errorf("acknowledged put %s=%s: found %+v", key, value, kv)
		}
	}
	for key, kv := range found {
		if kv.Version != 1 {
			dup++
			t.Errorf("%s was written %d times", key, kv.Version)
		}
		_, ok := acked[key]
		_, amb := ambiguous[key]
		switch {
		case amb:
			ambiguousApplied++
		case !ok:
			phantom++
			t.Errorf("%s exists, but its put was refused (%v) or never sent", key, refused[key])
		}
	}

	var late int64
	for key := range ctlKeys {
		if _, ok := found[key]; !ok {
			t.Errorf("etcdctl saw %s, the later read through the client does not", key)
		}
	}
	for key := range found {
		if !ctlKeys[key] {
			if _, amb := ambiguous[key]; !amb {
				t.Errorf("%s appeared between etcdctl's read and the client's, but its put was not ambiguous", key)
			}
			late++
		}
	}

	row{
		scenario: "writes/leader-kill", ops: attempts.Load(), faults: kills, lost: lost, dup: dup + phantom,
		ambiguous: int64(len(ambiguous)), recovery: worst,
		note: fmt.Sprintf("%d acked, %d refused, %d of the ambiguous applied (%d of them after every writer had returned)",
			len(acked), len(refused), ambiguousApplied, late),
	}.log(t)
}
