//etcdkit:needs Lease

package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
)

// Grant a lease, renew it once and in the background, list and inspect it, and revoke it.
func ExampleClient_Grant() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	l, err := c.Grant(ctx, 10*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("granted", l.TTL, "id printed as hex:", len(l.ID.String()) > 0)
	if _, err := c.Put(ctx, "lease/k", "v", etcd.AttachLease(l.ID)); err != nil {
		log.Fatal(err)
	}
	renewed, err := c.KeepAliveOnce(ctx, l.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("renewed to", renewed.TTL)

	kctx, stop := context.WithCancel(ctx)
	ka, err := c.KeepAlive(kctx, l.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("keeping", ka.ID() == l.ID, "with TTL", ka.TTL())

	ids, _, err := c.LeaseList(ctx)
	if err != nil {
		log.Fatal(err)
	}
	listed := false
	for _, id := range ids {
		listed = listed || id == l.ID
	}
	info, err := c.TimeToLive(ctx, l.ID, etcd.AttachedKeys())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listed: %v, keys %q\n", listed, info.Keys)

	stop()
	<-ka.Done()
	fmt.Println("keep-alive ended:", errors.Is(ka.Err(), context.Canceled))
	if _, err := c.Revoke(ctx, l.ID); err != nil {
		log.Fatal(err)
	}
	_, err = c.Get(ctx, "lease/k")
	fmt.Println("key gone with the lease:", errors.Is(err, etcd.ErrKeyNotFound))
	// Output:
	// granted 10s id printed as hex: true
	// renewed to 10s
	// keeping true with TTL 10s
	// listed: true, keys ["lease/k"]
	// keep-alive ended: true
	// key gone with the lease: true
}
