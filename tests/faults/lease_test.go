package faults

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
)

// TestLeaseExpiryUnderPartition: a client that reaches the cluster through one member only
// keeps a lease alive; that member's proxy then blackholes it. The keep-alive's Done fires
// with ErrLeaseExpired about a TTL later (no renewal arrived), and the lease's key is gone
// when read through the rest of the cluster.
func TestLeaseExpiryUnderPartition(t *testing.T) {
	cl := startCluster(t)
	cut := newClient(t, fast, cl.Members[0].Endpoint())
	rest := newClient(t, fast, cl.Endpoints()[1:]...)
	ctx := t.Context()
	const ttl = 2 * time.Second

	l, err := cut.Grant(ctx, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cut.Put(ctx, "le/k", "v", etcd.AttachLease(l.ID)); err != nil {
		t.Fatal(err)
	}
	ka, err := cut.KeepAlive(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl + 500*time.Millisecond) // renewed at least once
	if err := ka.Err(); err != nil {
		t.Fatalf("keep-alive ended before the partition: %v", err)
	}

	cl.Members[0].Proxy().Blackhole()
	defer cl.Members[0].Proxy().Unblackhole()
	at := time.Now()
	select {
	case <-ka.Done():
	case <-time.After(3 * ttl):
		t.Fatalf("keep-alive still running %v into the partition", 3*ttl)
	}
	fired := time.Since(at)
	if !errors.Is(ka.Err(), etcd.ErrLeaseExpired) {
		t.Errorf("keep-alive ended with %v, want ErrLeaseExpired", ka.Err())
	}
	gone := waitUntil(t, 3*ttl, "the lease's key disappearing", func() bool {
		_, err := rest.Get(ctx, "le/k")
		return errors.Is(err, etcd.ErrKeyNotFound)
	})
	var lost int64
	if fired > ttl+time.Second {
		lost = 1
		t.Errorf("Done fired %v into the partition; the lease's TTL is %v", fired, ttl)
	}
	row{
		scenario: "lease/partition", ops: 1, faults: 1, lost: lost, recovery: fired,
		note: fmt.Sprintf("recovery = partition to Done; key gone %v after Done", gone.Round(time.Millisecond)),
	}.log(t)
}
