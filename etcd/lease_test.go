//etcdkit:needs Lease

package etcd

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

func TestLeases(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()

	t.Run("grant, time to live with keys, list, revoke", func(t *testing.T) {
		l, err := c.Grant(ctx, 30*time.Second)
		if err != nil || l.ID == 0 || l.TTL != 30*time.Second {
			t.Fatalf("Grant = %+v, %v", l, err)
		}
		mustPut(t, c, "lease/a", "1", AttachLease(l.ID))
		mustPut(t, c, "lease/b", "2", AttachLease(l.ID))
		info, err := c.TimeToLive(ctx, l.ID, AttachedKeys())
		if err != nil || info.GrantedTTL != 30*time.Second || info.TTL <= 0 || info.TTL > 30*time.Second {
			t.Fatalf("TimeToLive = %+v, %v", info, err)
		}
		if got := []string{string(info.Keys[0]), string(info.Keys[1])}; len(info.Keys) != 2 || !slices.Contains(got, "lease/a") || !slices.Contains(got, "lease/b") {
			t.Fatalf("lease keys = %q", info.Keys)
		}
		ids, hdr, err := c.LeaseList(ctx)
		if err != nil || !slices.Contains(ids, l.ID) || hdr.Revision == 0 {
			t.Fatalf("Leases = %v, %v; want it to hold %v", ids, err, l.ID)
		}
		if _, err := c.Revoke(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
		if n, _ := c.Range(ctx, Prefix("lease/"), CountOnly()); n.Count != 0 {
			t.Fatalf("%d keys survived the revoke", n.Count)
		}
		if gone, err := c.TimeToLive(ctx, l.ID); !errors.Is(err, ErrLeaseNotFound) || gone.Header.Revision == 0 {
			t.Fatalf("TimeToLive of a revoked lease = %+v, %v; want ErrLeaseNotFound with a header", gone, err)
		}
		if _, err := c.Revoke(ctx, l.ID); !errors.Is(err, ErrLeaseNotFound) {
			t.Fatalf("second Revoke = %v, want ErrLeaseNotFound", err)
		}
		if _, err := c.KeepAliveOnce(ctx, l.ID); !errors.Is(err, ErrLeaseNotFound) {
			t.Fatalf("KeepAliveOnce of a revoked lease = %v", err)
		}
		if _, err := c.KeepAlive(ctx, l.ID); !errors.Is(err, ErrLeaseNotFound) {
			t.Fatalf("KeepAlive of a revoked lease = %v", err)
		}
	})

	t.Run("bad TTL", func(t *testing.T) {
		for _, ttl := range []time.Duration{0, -time.Second, time.Millisecond} {
			if _, err := c.Grant(ctx, ttl); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("Grant(%v) = %v, want ErrInvalidArgument", ttl, err)
			}
		}
	})

	t.Run("put with TTL expires, refresh renews", func(t *testing.T) {
		res, err := c.PutWithTTL(ctx, "ttl/k", "v", 2*time.Second)
		if err != nil || res.Lease == 0 {
			t.Fatalf("PutWithTTL = %+v, %v", res, err)
		}
		renewed, err := c.KeepAliveOnce(ctx, res.Lease)
		if err != nil || renewed.TTL != 2*time.Second || renewed.ID != res.Lease || renewed.Header.ClusterID == 0 {
			t.Fatalf("KeepAliveOnce = %+v, %v", renewed, err)
		}
		waitGone(t, c, "ttl/k", 5*time.Second)
	})

	t.Run("keep alive outlives the TTL until cancelled", func(t *testing.T) {
		l, err := c.Grant(ctx, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		mustPut(t, c, "ka/k", "v", AttachLease(l.ID))
		kctx, cancel := context.WithCancel(ctx)
		ka, err := c.KeepAlive(kctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Two keep-alives of one lease share its renewals.
		ka2, err := c.KeepAlive(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second) // 2.5 TTLs
		if _, err := c.Get(ctx, "ka/k"); err != nil {
			t.Fatalf("key lost while kept alive: %v", err)
		}
		cancel()
		<-ka.Done()
		if !errors.Is(ka.Err(), context.Canceled) {
			t.Fatalf("Err after cancel = %v", ka.Err())
		}
		if ka2.Err() != nil {
			t.Fatalf("the second keep-alive ended with the first: %v", ka2.Err())
		}
		if _, err := c.Revoke(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ka2.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("keep-alive of a revoked lease did not end")
		}
		if !errors.Is(ka2.Err(), ErrLeaseExpired) {
			t.Fatalf("Err after revoke = %v, want ErrLeaseExpired", ka2.Err())
		}
	})

	t.Run("session", func(t *testing.T) {
		s, err := c.NewSession(ctx, TTL(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		mustPut(t, c, "sess/k", "v", AttachLease(s.Lease()))
		time.Sleep(3 * time.Second)
		if _, err := c.Get(ctx, "sess/k"); err != nil {
			t.Fatalf("session key lost while the session lives: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := c.Get(ctx, "sess/k"); !errors.Is(err, ErrKeyNotFound) {
			t.Fatalf("Close did not revoke the session's lease: %v", err)
		}

		s2, err := c.NewSession(ctx, TTL(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if _, err := c.Revoke(ctx, s2.Lease()); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s2.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("session did not notice its lease was revoked")
		}
		if !errors.Is(s2.Err(), ErrLeaseExpired) {
			t.Fatalf("session Err = %v, want ErrLeaseExpired", s2.Err())
		}
	})
}

// TestKeepAliveEndsOnClose checks that Close ends keep-alives and sessions with ErrClosed.
func TestKeepAliveEndsOnClose(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c, err := New(Config{Endpoints: cl.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewSession(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	if !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("session Err after client Close = %v", s.Err())
	}
}

// TestKeepAliveSurvivesFailover kills each member in turn for longer than the session's TTL:
// the keep-alive stream moves to a live member and the lease never lapses.
func TestKeepAliveSurvivesFailover(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	// A TTL must leave room for a leader election plus the forwarding of a renewal to the new
	// leader; 3 seconds does on every version here (2 seconds was too tight for etcd 3.4).
	s, err := c.NewSession(ctx, TTL(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, m := range cl.Members {
		if err := m.Kill(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second) // over a TTL without this member
		if err := s.Err(); err != nil {
			t.Fatalf("session lost while %s was down: %v", m.Name, err)
		}
		if _, err := c.TimeToLive(ctx, s.Lease()); err != nil {
			t.Fatalf("lease gone while %s was down: %v", m.Name, err)
		}
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
	}
}

func newSession(t testing.TB, c *Client, ttl time.Duration) *Session {
	t.Helper()
	s, err := c.NewSession(context.Background(), TTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
