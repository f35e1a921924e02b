// Command clientv3 is the footprint probe for go.etcd.io/etcd/client/v3: put, get a prefix,
// one watch event and a lock/unlock, against the endpoint in os.Args[1].
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
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
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Put(ctx, "footprint/clientv3/a", "1")
	if err != nil {
		return err
	}
	if _, err := c.Get(ctx, "footprint/clientv3/", clientv3.WithPrefix()); err != nil {
		return err
	}
	go c.Put(ctx, "footprint/clientv3/b", "2")
	for resp := range c.Watch(ctx, "footprint/clientv3/", clientv3.WithPrefix(), clientv3.WithRev(res.Header.Revision+1)) {
		if err := resp.Err(); err != nil {
			return err
		}
		break
	}
	s, err := concurrency.NewSession(c)
	if err != nil {
		return err
	}
	defer s.Close()
	m := concurrency.NewMutex(s, "footprint/clientv3/lock")
	if err := m.Lock(ctx); err != nil {
		return err
	}
	return m.Unlock(ctx)
}
