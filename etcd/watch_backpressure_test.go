//etcdkit:needs Watch

package etcd

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// withQueueLimit overrides maxQueuedEvents for one watch.
func withQueueLimit(n int) WatchOption {
	return watchOption(func(c *watchConfig) { c.queueLimit = n })
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWatchSlowConsumer: a caller that stops reading while 2,000 events arrive makes the
// watch pause at its queue limit instead of queueing them all, and still gets every event,
// in order, exactly once, when it reads again.
func TestWatchSlowConsumer(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	var logs syncBuffer
	c := newClient(t, cl, Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	writer := newClient(t, cl, Config{})

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	first := mustPut(t, writer, "slow/0000", "v")
	next, stop := iter.Pull2(c.Watch(ctx, Prefix("slow/"), FromRevision(first), withQueueLimit(50)))
	defer stop()
	if ev, err, ok := next(); !ok || err != nil || string(ev.KV.Key) != "slow/0000" {
		t.Fatalf("first event = %+v, %v, %v", ev, err, ok)
	}

	const n = 2000
	for i := 1; i <= n; i++ {
		mustPut(t, writer, fmt.Sprintf("slow/%04d", i), "v")
	}
	var last int64
	for i := 1; i <= n; i++ {
		ev, err, ok := next()
		if !ok || err != nil {
			t.Fatalf("event %d: %v, %v\n%s", i, err, ok, logs.String())
		}
		if want := fmt.Sprintf("slow/%04d", i); string(ev.KV.Key) != want || ev.KV.ModRevision <= last {
			t.Fatalf("event %d = %s at %d after %d, want %s in order", i, ev.KV.Key, ev.KV.ModRevision, last, want)
		}
		last = ev.KV.ModRevision
	}
	if pauses := strings.Count(logs.String(), "watch paused"); pauses == 0 {
		t.Fatalf("the watch never paused while its caller held %d events", n)
	}
}
