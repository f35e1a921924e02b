//etcdkit:needs Lease,Watch

package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
)

// A mutex's key revision is a fencing token, and OwnerCmp makes a write conditional on still
// holding the lock.
func ExampleMutex() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	s, err := c.NewSession(ctx, etcd.TTL(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println("session TTL", s.TTL())
	m := s.NewMutex("locks/report")
	if err := m.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	res, err := c.Txn(ctx, etcd.Txn{
		If:   []etcd.Cmp{m.OwnerCmp()},
		Then: []etcd.Op{etcd.OpPut("report/owner-token", fmt.Sprint(m.FencingToken()))},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("written while holding:", res.Succeeded, "token > 0:", m.FencingToken() > 0)
	if err := m.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	<-m.Lost()
	fmt.Println("lost after unlock")
	// Output:
	// session TTL 5s
	// written while holding: true token > 0: true
	// lost after unlock
}

// Lead, proclaim a new value, watch the leadership from another client, and hand it over to
// a successor process that resumes the session's lease.
func ExampleElection() {
	c := connect()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	s, err := c.NewSession(ctx)
	if err != nil {
		log.Fatal(err)
	}
	e := s.NewElection("elections/db")
	if err := e.Campaign(ctx, "v1"); err != nil {
		log.Fatal(err)
	}
	if err := e.Proclaim(ctx, "v2"); err != nil {
		log.Fatal(err)
	}
	for kv, err := range c.ObserveElection(ctx, "elections/db") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("observed leader value", string(kv.Value), "key is ours:", string(kv.Key) == e.Key())
		break
	}
	res, err := c.Txn(ctx, etcd.Txn{If: []etcd.Cmp{e.LeaderCmp()}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("still leading:", res.Succeeded, "token > 0:", e.FencingToken() > 0)

	// Hand over: stop renewing, and let a successor resume the lease and the leadership.
	leader, err := e.Leader(ctx)
	if err != nil {
		log.Fatal(err)
	}
	s.Orphan()
	<-s.Done()
	fmt.Println("orphaned session ended:", s.Err() == nil || errors.Is(s.Err(), context.Canceled))
	next, err := c.NewSession(ctx, etcd.ExistingLease(s.Lease()))
	if err != nil {
		log.Fatal(err)
	}
	defer next.Close()
	resumed, err := next.ResumeElection(ctx, "elections/db", leader)
	if err != nil {
		log.Fatal(err)
	}
	for kv, err := range resumed.Observe(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("resumed leader value", string(kv.Value))
		break
	}
	if err := resumed.Resign(ctx); err != nil {
		log.Fatal(err)
	}
	<-resumed.Lost()
	fmt.Println("resigned")
	// Output:
	// observed leader value v2 key is ours: true
	// still leading: true token > 0: true
	// orphaned session ended: true
	// resumed leader value v2
	// resigned
}

// Update's isolation levels; a missing key inside the transaction is ErrKeyNotFound.
func ExampleIsolation() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	for _, iso := range []etcd.IsolationLevel{etcd.LevelSerializableSnapshot, etcd.LevelSerializable, etcd.LevelRepeatableRead} {
		_, err := c.Update(ctx, func(tx *etcd.Tx) error {
			if _, err := tx.Get("iso/counter-" + iso.String()); !errors.Is(err, etcd.ErrKeyNotFound) {
				return err
			}
			tx.Put("iso/counter-"+iso.String(), "1")
			return nil
		}, etcd.Isolation(iso))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(iso)
	}
	// Output:
	// serializable-snapshot
	// serializable
	// repeatable-read
}
