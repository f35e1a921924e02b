// Command etcdkit is the footprint probe for etcdkit: put, get a prefix, one watch event
// and a lock/unlock, against the endpoint in os.Args[1]. benchdrive builds it in a module of
// its own beside a copy of the kit vendored with `etcdkit-gen vendor -keep KV,Watch,Lease
// -into internal/etcdkit` (see bench/cmd/benchdrive/footprint.go).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"example.com/footprint/internal/etcdkit/etcd"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(endpoint string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := etcd.New(etcd.Config{Endpoints: []string{endpoint}})
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Put(ctx, "footprint/etcdkit/a", "1")
	if err != nil {
		return err
	}
	if _, err := c.Range(ctx, etcd.Prefix("footprint/etcdkit/")); err != nil {
		return err
	}
	go c.Put(ctx, "footprint/etcdkit/b", "2")
	for _, err := range c.Watch(ctx, etcd.Prefix("footprint/etcdkit/"), etcd.FromRevision(res.Header.Revision+1)) {
		if err != nil {
			return err
		}
		break
	}
	s, err := c.NewSession(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	m := s.NewMutex("footprint/etcdkit/lock")
	if err := m.Lock(ctx); err != nil {
		return err
	}
	return m.Unlock(ctx)
}
