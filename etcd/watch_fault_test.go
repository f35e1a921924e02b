//etcdkit:needs Lease,Watch,Maintenance.Status

package etcd

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestWatchSurvivesFaults runs a watch on a three-member cluster while writers make at least
// 10,000 puts and the member the watch is connected to is killed with SIGKILL (then started
// again), restarted, and cut off by its proxy. The watch must yield every revision the
// writers made, once each, in order.
func TestWatchSurvivesFaults(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("fault injection takes about a minute")
	}
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3, Proxy: true})
	fast := Config{KeepAliveTime: 5 * time.Second, KeepAliveTimeout: time.Second}
	wc := newClient(t, cl, fast)
	writer := newClient(t, cl, fast)
	ctx := t.Context()

	start := mustPut(t, writer, "f/start", "")
	const puts = 10000
	var (
		revs     []int64
		revsMu   sync.Mutex
		received atomic.Int64
		watchErr = make(chan error, 1)
	)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for ev, err := range wc.Watch(wctx, Prefix("f/"), FromRevision(start+1)) {
			if err != nil {
				watchErr <- err
				return
			}
			revsMu.Lock()
			revs = append(revs, ev.Revision)
			revsMu.Unlock()
			received.Add(1)
		}
	}()

	// Writers: four at a time, until 10,000 puts have succeeded. Puts that fail (their
	// member died or went dark) may or may not have been applied; the check below counts
	// revisions, not puts.
	var ok, failed atomic.Int64
	var faultsDone atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ok.Load() < puts || !faultsDone.Load(); i++ {
				pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := writer.Put(pctx, fmt.Sprintf("f/%d/%d", w, i%50), fmt.Sprint(i))
				cancel()
				if err != nil {
					failed.Add(1)
					continue
				}
				ok.Add(1)
			}
		}()
	}

	waitFor := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for received.Load() < n {
			select {
			case err := <-watchErr:
				t.Fatalf("watch failed at %d events: %v", received.Load(), err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("watch stuck at %d events, waiting for %d", received.Load(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	connected := func() *etcdtest.Member {
		t.Helper()
		id := wc.watchHub().member.Load()
		for _, m := range cl.Members {
			if st, err := m.Status(ctx); err == nil && st.MemberID == id {
				return m
			}
		}
		t.Fatalf("the watch's member %x is not among the running members", id)
		return nil
	}

	waitFor(1500)
	m := connected()
	t.Logf("kill -9 %s at %d events", m.Name, received.Load())
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(received.Load() + 500)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}

	waitFor(received.Load() + 1500)
	m = connected()
	t.Logf("restart %s at %d events", m.Name, received.Load())
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}

	waitFor(received.Load() + 1500)
	m = connected()
	t.Logf("blackhole %s at %d events", m.Name, received.Load())
	m.Proxy().Blackhole()
	waitFor(received.Load() + 500) // the watch has moved to another member
	if now := connected(); now == m {
		t.Fatalf("the watch still hears from %s through its blackholed proxy", m.Name)
	}
	m.Proxy().Unblackhole()
	faultsDone.Store(true)

	wg.Wait()
	last := mustPut(t, writer, "f/end", "")
	waitFor(last - start)
	stopWatch()
	<-watchDone
	select {
	case err := <-watchErr:
		if ctx.Err() == nil && wctx.Err() == nil {
			t.Fatalf("watch failed: %v", err)
		}
	default:
	}
	t.Logf("%d puts succeeded, %d failed; %d events for revisions %d..%d", ok.Load(), failed.Load(), len(revs), start+1, last)

	var missing, dup, disorder int
	want := start + 1
	for _, r := range revs {
		switch {
		case r == want:
			want++
		case r < want:
			if r == want-1 {
				dup++
			} else {
				disorder++
			}
		default:
			missing += int(r - want)
			want = r + 1
		}
	}
	if want <= last {
		missing += int(last - want + 1)
	}
	if missing != 0 || dup != 0 || disorder != 0 {
		t.Fatalf("%d missing, %d duplicate, %d out-of-order events", missing, dup, disorder)
	}
}
