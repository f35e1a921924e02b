//etcdkit:needs Lease,Watch

package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/etcdkit/etcdkit/etcd"
)

// Watch a prefix from a known revision: every change after it arrives once, in order. Breaking
// out of the loop ends the watch.
func ExampleClient_Watch() {
	c, err := etcd.New(etcd.Config{Endpoints: endpoints()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	first, err := c.Put(ctx, "jobs/1", "queued")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Put(ctx, "jobs/1", "running"); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Delete(ctx, etcd.Key("jobs/1")); err != nil {
		log.Fatal(err)
	}

	seen := 0
	for ev, err := range c.Watch(ctx, etcd.Prefix("jobs/"), etcd.FromRevision(first.Header.Revision)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.Type, string(ev.KV.Key), string(ev.KV.Value))
		if seen++; seen == 3 {
			break
		}
	}
	// Output:
	// PUT jobs/1 queued
	// PUT jobs/1 running
	// DELETE jobs/1
}

// Run a function while holding a lock. The session's TTL frees the lock if this process dies
// while holding it; the fencing token guards writes made under it.
func ExampleSession_WithLock() {
	c, err := etcd.New(etcd.Config{Endpoints: endpoints()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	s, err := c.NewSession(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = s.WithLock(ctx, "locks/report", func(ctx context.Context) error {
		_, err := c.Put(ctx, "report/owner", "me")
		return err
	})
	fmt.Println("ran under the lock:", err == nil)

	m := s.NewMutex("locks/report")
	if err := m.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	other, err := c.NewSession(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer other.Close()
	err = other.NewMutex("locks/report").TryLock(ctx)
	fmt.Println("second holder:", errors.Is(err, etcd.ErrLocked))
	if err := m.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// ran under the lock: true
	// second holder: true
}

// Campaign for leadership and read the leader.
func ExampleSession_NewElection() {
	c, err := etcd.New(etcd.Config{Endpoints: endpoints()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	s, err := c.NewSession(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	e := s.NewElection("elections/api")
	if err := e.Campaign(ctx, "10.0.0.7:8080"); err != nil {
		log.Fatal(err)
	}
	leader, err := e.Leader(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("leader:", string(leader.Value))
	if err := e.Resign(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = e.Leader(ctx)
	fmt.Println("after resign:", errors.Is(err, etcd.ErrKeyNotFound))
	// Output:
	// leader: 10.0.0.7:8080
	// after resign: true
}
