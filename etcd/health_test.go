package etcd

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// logBuffer collects a client's log lines, safe for concurrent writers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls cond every 20 ms until it holds, or fails the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// allInUse reports whether every endpoint of c is in use, its member known.
func allInUse(c *Client) bool {
	for _, s := range c.EndpointStates() {
		if !s.InUse || s.MemberID == 0 {
			return false
		}
	}
	return true
}

// stateOf returns ep's state in c.
func stateOf(c *Client, ep string) EndpointState {
	for _, s := range c.EndpointStates() {
		if s.Endpoint == ep {
			return s
		}
	}
	return EndpointState{}
}

// TestFrozenMemberLeavesTheRotation: a frozen follower leaves the rotation within about a
// second, logged at Warn with its address and why; while it is out, no call waits on it;
// resumed, it comes back, logged at Info.
func TestFrozenMemberLeavesTheRotation(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3})
	var logs logBuffer
	c := newClient(t, cl, Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	ctx := t.Context()
	mustPut(t, c, "rot/k", "v")
	waitFor(t, 5*time.Second, "every endpoint in use", func() bool { return allInUse(c) })
	lead, err := cl.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	victim := cl.Members[(slices.Index(cl.Members, lead)+1)%3]
	ep := victim.Endpoint()
	if err := victim.Pause(); err != nil {
		t.Fatal(err)
	}
	defer victim.Resume()
	took := waitFor(t, 3*time.Second, "the frozen member out of use", func() bool { return !stateOf(c, ep).InUse })
	t.Logf("a frozen follower left the rotation in %v", took)
	if s := stateOf(c, ep); s.Reason != reasonSilent || s.Since.IsZero() {
		t.Fatalf("state of the frozen member: %+v", s)
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "left the rotation") || !strings.Contains(l, ep) {
		t.Fatalf("no warning names the frozen member %s:\n%s", ep, l)
	}
	for i := range 50 {
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.Put(cctx, "rot/k", "v")
		if err == nil {
			_, err = c.Get(cctx, "rot/k")
		}
		cancel()
		if took := time.Since(start); err != nil || took > 500*time.Millisecond {
			t.Fatalf("put and get %d with a member out of the rotation: %v after %v", i, err, took)
		}
	}
	if err := victim.Resume(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "the resumed member back in use", func() bool { return stateOf(c, ep).InUse })
	if l := logs.String(); !strings.Contains(l, "level=INFO") || !strings.Contains(l, "endpoint answers; using it") {
		t.Fatalf("no info line says the member is back:\n%s", l)
	}
}

// TestClientFollowsTheMemberList: a client given two of three members' endpoints learns the
// third, and one added later, and drops a removed member's; with StaticEndpoints it keeps to
// the two it was given.
func TestClientFollowsTheMemberList(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3})
	ctx := t.Context()
	given := cl.Endpoints()[:2]
	static := newClient(t, cl, Config{Endpoints: given, StaticEndpoints: true})
	c := newClient(t, cl, Config{Endpoints: given})
	mustPut(t, c, "follow/k", "v")
	mustPut(t, static, "follow/k", "v")
	sameSet := func(a, b []string) bool {
		a, b = slices.Clone(a), slices.Clone(b)
		slices.Sort(a)
		slices.Sort(b)
		return slices.Equal(a, b)
	}
	waitFor(t, 5*time.Second, "the third member's endpoint", func() bool { return sameSet(c.Endpoints(), cl.Endpoints()) })

	added, err := cl.AddMember(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*memberSyncInterval, "the added member's endpoint", func() bool {
		return slices.Contains(c.Endpoints(), added.Endpoint()) && stateOf(c, added.Endpoint()).InUse
	})
	gone := cl.Members[0]
	if err := cl.RemoveMember(ctx, gone); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 2*memberSyncInterval, "the removed member's endpoint dropped", func() bool {
		return sameSet(c.Endpoints(), cl.Endpoints())
	})
	t.Logf("the removed member's endpoint was dropped %v after its removal", took)
	for i := range 20 {
		if _, err := c.Put(ctx, "follow/k", "v"); err != nil {
			t.Fatalf("put %d after the membership changes: %v", i, err)
		}
	}
	if got := static.Endpoints(); !slices.Equal(got, given) {
		t.Fatalf("a client with StaticEndpoints has %v", got)
	}
}
