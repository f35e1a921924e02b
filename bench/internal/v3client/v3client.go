// Package v3client adapts etcd's own client, go.etcd.io/etcd/client/v3, to the benchmark
// harness: the peer etcdkit is measured against.
package v3client

import (
	"context"
	"errors"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
)

type client struct{ c *clientv3.Client }

// New returns a clientv3 client for endpoints, with logging off (see harness.NewFunc).
func New(endpoints []string, maxResponse int) (harness.Client, error) {
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		MaxCallRecvMsgSize: maxResponse})
	if err != nil {
		return nil, err
	}
	return client{c}, nil
}

func (v client) Close() error { return v.c.Close() }

func (v client) Put(ctx context.Context, key, value string) error {
	_, err := v.c.Put(ctx, key, value)
	return err
}

func (v client) Get(ctx context.Context, key string) error {
	resp, err := v.c.Get(ctx, key)
	if err == nil && len(resp.Kvs) == 0 {
		err = errors.New("key not found")
	}
	return err
}

func (v client) CAS(ctx context.Context, key, value string) error {
	resp, err := v.c.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", value)).
		Then(clientv3.OpPut(key, value)).
		Else(clientv3.OpGet(key)).
		Commit()
	if err == nil && !resp.Succeeded {
		err = errors.New("compare failed")
	}
	return err
}

func (v client) Revision(ctx context.Context) (int64, error) {
	resp, err := v.c.Get(ctx, "\x00", clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

func (v client) Watch(ctx context.Context, prefix string, from int64, event func(key, value []byte) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp := range v.c.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(from)) {
		if err := resp.Err(); err != nil {
			return err
		}
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypePut && !event(ev.Kv.Key, ev.Kv.Value) {
				return nil
			}
		}
	}
	return ctx.Err()
}

// listPage is the page size of the paged list, the same as etcdkit's Scan.
const listPage = 1000

// List reads over GetStream (clientv3's RangeStream), pages with Get's limit at the first
// page's revision, continuing after the last key (the way etcdctl's --paginate does), or makes
// one Get.
func (v client) List(ctx context.Context, prefix, workload string, each func(key, value []byte)) (int, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	switch workload {
	case harness.List:
		ch, err := v.c.GetStream(ctx, prefix, clientv3.WithRange(end))
		if err != nil {
			return 0, err
		}
		n := 0
		for resp := range ch {
			if err := resp.Err(); err != nil {
				return n, err
			}
			for _, kv := range resp.Kvs {
				each(kv.Key, kv.Value)
			}
			n += len(resp.Kvs)
		}
		return n, nil
	case harness.ListSingle:
		resp, err := v.c.Get(ctx, prefix, clientv3.WithRange(end))
		if err != nil {
			return 0, err
		}
		for _, kv := range resp.Kvs {
			each(kv.Key, kv.Value)
		}
		return len(resp.Kvs), nil
	}
	n, key, rev := 0, prefix, int64(0)
	for {
		resp, err := v.c.Get(ctx, key, clientv3.WithRange(end), clientv3.WithLimit(listPage), clientv3.WithRev(rev))
		if err != nil {
			return n, err
		}
		rev = resp.Header.Revision
		for _, kv := range resp.Kvs {
			each(kv.Key, kv.Value)
		}
		n += len(resp.Kvs)
		if !resp.More || len(resp.Kvs) == 0 {
			return n, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// WatchKeys drains one Watch channel per key, each on a goroutine of its own.
func (v client) WatchKeys(ctx context.Context, keys []string, from int64, event func(i int, value []byte)) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, key := range keys {
		ch := v.c.Watch(ctx, key, clientv3.WithRev(from))
		wg.Go(func() {
			for resp := range ch {
				for _, ev := range resp.Events {
					if ev.Type == clientv3.EventTypePut {
						event(i, ev.Kv.Value)
					}
				}
			}
		})
	}
	return func() { cancel(); wg.Wait() }, nil
}

func (v client) Grant(ctx context.Context, ttl time.Duration) (int64, error) {
	resp, err := v.c.Grant(ctx, int64(ttl/time.Second))
	if err != nil {
		return 0, err
	}
	return int64(resp.ID), nil
}

func (v client) Revoke(ctx context.Context, id int64) error {
	_, err := v.c.Revoke(ctx, clientv3.LeaseID(id))
	return err
}

// KeepAlive keeps the lease alive and drains its response channel, as clientv3 requires.
func (v client) KeepAlive(ctx context.Context, id int64) error {
	ch, err := v.c.KeepAlive(ctx, clientv3.LeaseID(id))
	if err != nil {
		return err
	}
	go func() {
		for range ch {
		}
	}()
	return nil
}

func (v client) TTL(ctx context.Context, id int64) (int64, error) {
	resp, err := v.c.TimeToLive(ctx, clientv3.LeaseID(id))
	if err != nil {
		return 0, err
	}
	return resp.TTL, nil
}

type locker struct {
	s *concurrency.Session
	m *concurrency.Mutex
}

func (v client) NewLocker(ctx context.Context, name string) (harness.Locker, error) {
	s, err := concurrency.NewSession(v.c, concurrency.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	return locker{s, concurrency.NewMutex(s, name)}, nil
}

func (l locker) Lock(ctx context.Context) error   { return l.m.Lock(ctx) }
func (l locker) Unlock(ctx context.Context) error { return l.m.Unlock(ctx) }
func (l locker) Close() error                     { return l.s.Close() }
