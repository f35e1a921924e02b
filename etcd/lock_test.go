//etcdkit:needs Lease,Watch

package etcd

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

func TestLock(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()

	t.Run("try, fence, owner cmp, unlock", func(t *testing.T) {
		a, b := newSession(t, c, 5*time.Second).NewMutex("l1"), newSession(t, c, 5*time.Second).NewMutex("l1")
		if err := a.TryLock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.TryLock(ctx); !errors.Is(err, ErrLocked) {
			t.Fatalf("TryLock of a held lock = %v, want ErrLocked", err)
		}
		if n, _ := c.Range(ctx, Prefix("l1/"), CountOnly()); n.Count != 1 {
			t.Fatalf("a failed TryLock left its key: %d keys", n.Count)
		}
		res, err := c.Txn(ctx, Txn{If: []Cmp{a.OwnerCmp()}, Then: []Op{OpPut("l1-data", "a")}})
		if err != nil || !res.Succeeded {
			t.Fatalf("write under OwnerCmp = %+v, %v", res.Succeeded, err)
		}
		tokA := a.FencingToken()
		if err := a.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-a.Lost():
		default:
			t.Fatal("Lost not closed after Unlock")
		}
		if err := b.Lock(ctx); err != nil || b.FencingToken() <= tokA {
			t.Fatalf("Lock = %v, token %d after %d", err, b.FencingToken(), tokA)
		}
		if res, _ := c.Txn(ctx, Txn{If: []Cmp{a.OwnerCmp()}, Then: []Op{OpPut("l1-data", "a")}}); res.Succeeded {
			t.Fatal("OwnerCmp held for a released lock")
		}
		b.Unlock(ctx)
	})

	t.Run("deadline, FIFO, lost on deletion", func(t *testing.T) {
		holder := newSession(t, c, 5*time.Second).NewMutex("l2")
		if err := holder.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if err := newSession(t, c, 5*time.Second).NewMutex("l2").Lock(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock past its deadline = %v", err)
		}
		var order []int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 3 {
			m := newSession(t, c, 5*time.Second).NewMutex("l2")
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := m.Lock(ctx); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				m.Unlock(ctx)
			}()
			waitKeys(t, c, "l2/", int64(i+2)) // queued in this order
		}
		// Deleting the holder's key (an operator, a lease gone) ends its holding.
		if _, err := c.Delete(ctx, Key(holder.Key())); err != nil {
			t.Fatal(err)
		}
		select {
		case <-holder.Lost():
		case <-time.After(5 * time.Second):
			t.Fatal("Lost not closed after the key was deleted")
		}
		if err := holder.Unlock(ctx); !errors.Is(err, ErrLockNotHeld) {
			t.Fatalf("Unlock after losing the key = %v, want ErrLockNotHeld", err)
		}
		wg.Wait()
		if !slices.Equal(order, []int{0, 1, 2}) {
			t.Fatalf("acquired in order %v, want FIFO", order)
		}
	})

	t.Run("a stale holder's unlock deletes nothing", func(t *testing.T) {
		s := newSession(t, c, 5*time.Second)
		stale, fresh := s.NewMutex("l3"), s.NewMutex("l3")
		if err := stale.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		c.Delete(ctx, Key(stale.Key()))
		<-stale.Lost()
		if err := fresh.Lock(ctx); err != nil { // the same key name, a new create revision
			t.Fatal(err)
		}
		if err := stale.Unlock(ctx); !errors.Is(err, ErrLockNotHeld) {
			t.Fatalf("stale Unlock = %v, want ErrLockNotHeld", err)
		}
		if _, err := c.Get(ctx, fresh.Key()); err != nil {
			t.Fatalf("the stale Unlock deleted the new holder's key: %v", err)
		}
		fresh.Unlock(ctx)
	})

	t.Run("with lock, and a holder whose client dies", func(t *testing.T) {
		dead, err := New(Config{Endpoints: cl.Endpoints()})
		if err != nil {
			t.Fatal(err)
		}
		ds, err := dead.NewSession(ctx, TTL(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := ds.NewMutex("l4").Lock(ctx); err != nil {
			t.Fatal(err)
		}
		dead.Close() // no revoke: the lease must expire
		start := time.Now()
		err = newSession(t, c, 5*time.Second).WithLock(ctx, "l4", func(ctx context.Context) error {
			if d := time.Since(start); d < time.Second || d > 4*time.Second {
				t.Errorf("acquired %v after the holder died; its TTL is 2s", d)
			}
			return errors.New("from f")
		})
		if err == nil || err.Error() != "from f" {
			t.Fatalf("WithLock = %v, want f's error", err)
		}
		if n, _ := c.Range(ctx, Prefix("l4/"), CountOnly()); n.Count != 0 {
			t.Fatalf("WithLock left %d keys", n.Count)
		}
	})
}

// fence is a resource guarded by the lock: it counts holders inside at once and refuses
// tokens older than the newest it has seen.
type fence struct {
	mu       sync.Mutex
	inside   int
	max      int64
	overlaps int
	stale    int
}

func (f *fence) enter(token int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inside > 0 {
		f.overlaps++
	}
	if token <= f.max {
		f.stale++
	}
	f.max = token
	f.inside++
}

func (f *fence) leave() {
	f.mu.Lock()
	f.inside--
	f.mu.Unlock()
}

// TestLockContended has 8 contenders take a lock 200 times each on a three-member cluster,
// while one holder's client is closed without unlocking and another holder is cut off by
// its proxy, both past their TTL. The guarded resource must never see two holders at once,
// and the cut-off holder, back, must neither write under OwnerCmp nor delete by Unlock.
func TestLockContended(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3, Proxy: true})
	var direct []string
	for _, m := range cl.Members {
		direct = append(direct, m.DirectEndpoint())
	}
	ctx := t.Context()
	const contenders, rounds, ttl = 8, 200, 2 * time.Second
	var f fence
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range contenders {
		c := newClient(t, cl, Config{Endpoints: direct})
		s := newSession(t, c, ttl)
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := s.NewMutex("lc")
			for range rounds {
				if err := m.Lock(ctx); err != nil {
					t.Errorf("contender %d: %v", i, err)
					return
				}
				f.enter(m.FencingToken())
				total.Add(1)
				f.leave()
				if err := m.Unlock(ctx); err != nil {
					t.Errorf("contender %d: unlock: %v", i, err)
					return
				}
			}
		}()
	}

	// A holder that dies: its client closes without revoking.
	dead, err := New(Config{Endpoints: direct})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dead.NewSession(ctx, TTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	dm := ds.NewMutex("lc")
	if err := dm.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	f.enter(dm.FencingToken())
	f.leave() // dead from here on
	dead.Close()

	// A holder cut off from the cluster by its proxy, past its TTL.
	p := cl.Members[0].Proxy()
	cut := newClient(t, cl, Config{Endpoints: []string{cl.Members[0].Endpoint()}, KeepAliveTime: 5 * time.Second, KeepAliveTimeout: time.Second})
	cs := newSession(t, cut, ttl)
	cm := cs.NewMutex("lc")
	if err := cm.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	f.enter(cm.FencingToken())
	f.leave()
	p.Blackhole()
	<-cs.Done() // its keep-alives stopped getting through
	watchTotal := total.Load()
	for total.Load() < watchTotal+10 {
		time.Sleep(10 * time.Millisecond) // others hold the lock since
	}
	p.Unblackhole()
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := cut.Txn(octx, Txn{If: []Cmp{cm.OwnerCmp()}, Then: []Op{OpPut("lc-resource", "stale")}})
	if err != nil || res.Succeeded {
		t.Fatalf("stale holder's write under OwnerCmp: succeeded=%v, %v", res.Succeeded, err)
	}
	before, _ := cut.Range(octx, Prefix("lc/"), KeysOnly())
	if err := cm.Unlock(octx); !errors.Is(err, ErrLockNotHeld) {
		t.Fatalf("stale holder's Unlock = %v, want ErrLockNotHeld", err)
	}
	after, _ := cut.Range(octx, Prefix("lc/"), KeysOnly())
	if len(after.KVs) < len(before.KVs)-1 { // a contender may have unlocked meanwhile
		t.Errorf("stale Unlock deleted keys: %d before, %d after", len(before.KVs), len(after.KVs))
	}

	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d acquisitions in %v (%.0f/s, two holders vanished for a %v TTL each)", total.Load(), elapsed, float64(total.Load())/elapsed.Seconds(), ttl)
	if f.overlaps != 0 || f.stale != 0 {
		t.Fatalf("%d overlapping holders, %d stale tokens", f.overlaps, f.stale)
	}
	if total.Load() != contenders*rounds {
		t.Fatalf("%d acquisitions, want %d", total.Load(), contenders*rounds)
	}
}

// BenchmarkLockContended measures lock hand-offs with 8 contenders, each with its own client,
// on one member: cycles/s and the median wait in Lock.
func BenchmarkLockContended(b *testing.B) {
	cl := etcdtest.StartCluster(b, etcdtest.Options{})
	const contenders = 8
	var mus []*Mutex
	for range contenders {
		c := newClient(b, cl, Config{})
		mus = append(mus, newSession(b, c, 10*time.Second).NewMutex("bench"))
	}
	ctx := context.Background()
	var next atomic.Int64
	var mu sync.Mutex
	var waits []time.Duration
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, m := range mus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if err := m.Lock(ctx); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
				if err := m.Unlock(ctx); err != nil {
					b.Error(err)
					return
				}
			}
			mu.Lock()
			waits = append(waits, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(waits)
	if len(waits) > 0 {
		b.ReportMetric(float64(len(waits))/elapsed.Seconds(), "cycles/s")
		b.ReportMetric(float64(waits[len(waits)/2].Microseconds())/1000, "p50-ms")
	}
}

// TestSessionOrphan: an orphaned session stops renewing but does not revoke, so its lock key
// outlives it until the lease's TTL runs out.
func TestSessionOrphan(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	s := newSession(t, c, 2*time.Second)
	m := s.NewMutex("orphan")
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	s.Orphan()
	select {
	case <-s.Done():
	default:
		t.Fatal("Done is open after Orphan")
	}
	if kv, err := c.Get(ctx, m.Key()); err != nil || kv.Lease != s.Lease() {
		t.Fatalf("lock key right after Orphan: %+v, %v", kv, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close after Orphan: %v", err)
	}
	if _, err := c.Get(ctx, m.Key()); err != nil {
		t.Fatalf("Close after Orphan revoked the lease: %v", err)
	}
	waitGone(t, c, m.Key(), 5*time.Second)
}
