//etcdkit:needs Lease,Watch

package etcd

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

func TestElection(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	ctx := t.Context()
	const ttl = 2 * time.Second
	obs := newClient(t, cl, Config{})

	seen := collectLeaders(t, obs.ObserveElection(ctx, "el"))

	// The first leader runs in a client that dies without resigning.
	dead, err := New(Config{Endpoints: cl.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dead.NewSession(ctx, TTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.NewElection("el").Campaign(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	seen.expect("one")

	e2 := newSession(t, newClient(t, cl, Config{}), ttl).NewElection("el")
	e3 := newSession(t, newClient(t, cl, Config{}), ttl).NewElection("el")
	won2 := make(chan error, 1)
	go func() { won2 <- e2.Campaign(ctx, "two") }()
	waitKeys(t, obs, "el/", 2)
	won3 := make(chan error, 1)
	go func() { won3 <- e3.Campaign(ctx, "three") }()
	waitKeys(t, obs, "el/", 3)

	if err := e2.Proclaim(ctx, "not yet"); !errors.Is(err, ErrNotElected) {
		t.Fatalf("Proclaim by a candidate that does not lead = %v", err)
	}
	died := time.Now()
	dead.Close() // no resign, no revoke
	select {
	case err := <-won2:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(ttl + time.Second + 500*time.Millisecond):
		t.Fatal("no new leader within TTL + 1s of the leader's death")
	}
	if d := time.Since(died); d > ttl+time.Second {
		t.Fatalf("new leader after %v, more than TTL + 1s", d)
	}
	seen.expect("two")
	if err := e2.Proclaim(ctx, "two again"); err != nil {
		t.Fatal(err)
	}
	seen.expect("two again")
	if kv, err := e3.Leader(ctx); err != nil || string(kv.Value) != "two again" {
		t.Fatalf("Leader = %s, %v", kv.Value, err)
	}

	// e2 restarts: it resumes its leadership from the leader's key and its lease.
	kv, _ := e3.Leader(ctx)
	rc := newClient(t, cl, Config{})
	rs, err := rc.NewSession(ctx, ExistingLease(kv.Lease))
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := rs.ResumeElection(ctx, "el", kv)
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.Proclaim(ctx, "two resumed"); err != nil {
		t.Fatal(err)
	}
	seen.expect("two resumed")

	if err := resumed.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e2.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("the old leader was not told it lost the leadership")
	}
	if err := <-won3; err != nil {
		t.Fatal(err)
	}
	seen.expect("three")
	if err := e2.Resign(ctx); !errors.Is(err, ErrNotElected) {
		t.Fatalf("Resign of a lost leadership = %v", err)
	}
	rs.Close()
	if err := e3.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e3.Leader(ctx); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("Leader of an empty election = %v", err)
	}
	seen.none(300 * time.Millisecond)
}

type leaders struct {
	t  *testing.T
	ch chan KeyValue
}

// collectLeaders runs an Observe in the background until the test ends.
func collectLeaders(t *testing.T, seq func(func(KeyValue, error) bool)) *leaders {
	l := &leaders{t: t, ch: make(chan KeyValue, 100)}
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		for kv, err := range seq {
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Observe: %v", err)
				}
				return
			}
			l.ch <- kv
		}
	}()
	return l
}

func (l *leaders) expect(value string) {
	l.t.Helper()
	select {
	case kv := <-l.ch:
		if string(kv.Value) != value {
			l.t.Fatalf("Observe saw %q, want %q", kv.Value, value)
		}
	case <-time.After(10 * time.Second):
		l.t.Fatalf("Observe did not see %q", value)
	}
}

func (l *leaders) none(d time.Duration) {
	l.t.Helper()
	select {
	case kv := <-l.ch:
		l.t.Fatalf("Observe saw an unexpected %q", kv.Value)
	case <-time.After(d):
	}
}

// TestCampaignAgainTakesTheNewValue: a candidate that campaigns again keeps its place and
// its key, and the key takes the new value.
func TestCampaignAgainTakesTheNewValue(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	e := newSession(t, c, 5*time.Second).NewElection("again")
	if err := e.Campaign(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	token := e.FencingToken()
	if err := e.Campaign(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	leader, err := e.Leader(ctx)
	if err != nil || string(leader.Value) != "second" || leader.CreateRevision != token {
		t.Fatalf("leader after a second campaign = %q@%d, %v; want \"second\"@%d", leader.Value, leader.CreateRevision, err, token)
	}
	if res, err := c.Txn(ctx, Txn{If: []Cmp{e.LeaderCmp()}}); err != nil || !res.Succeeded {
		t.Fatalf("LeaderCmp while leading: %v, %v", res.Succeeded, err)
	}
}
