// Package kitclient adapts etcdkit's package etcd to the benchmark harness.
package kitclient

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
	"github.com/etcdkit/etcdkit/etcd"
)

type client struct{ c *etcd.Client }

// New returns an etcdkit client for endpoints (see harness.NewFunc).
func New(endpoints []string, maxResponse int) (harness.Client, error) {
	c, err := etcd.New(etcd.Config{Endpoints: endpoints, MaxResponseBytes: maxResponse})
	if err != nil {
		return nil, err
	}
	return client{c}, nil
}

func (k client) Close() error { return k.c.Close() }

func (k client) Put(ctx context.Context, key, value string) error {
	_, err := k.c.Put(ctx, key, value)
	return err
}

func (k client) Get(ctx context.Context, key string) error {
	_, err := k.c.Get(ctx, key)
	return err
}

func (k client) CAS(ctx context.Context, key, value string) error {
	res, err := k.c.SwapIfValue(ctx, key, value, value)
	if err == nil && !res.Succeeded {
		err = errors.New("compare failed")
	}
	return err
}

func (k client) Revision(ctx context.Context) (int64, error) {
	res, err := k.c.Range(ctx, etcd.Key("\x00"), etcd.CountOnly())
	return res.Header.Revision, err
}

func (k client) Watch(ctx context.Context, prefix string, from int64, event func(key, value []byte) bool) error {
	for ev, err := range k.c.Watch(ctx, etcd.Prefix(prefix), etcd.FromRevision(from)) {
		if err != nil {
			return err
		}
		if ev.Type == etcd.EventPut && !event(ev.KV.Key, ev.KV.Value) {
			return nil
		}
	}
	return nil
}

// List uses Scan (its first page, then a stream on etcd 3.7), Range pages at one revision (what
// Scan did before it streamed), or one Range.
func (k client) List(ctx context.Context, prefix, workload string, each func(key, value []byte)) (int, error) {
	switch workload {
	case harness.ListSingle:
		res, err := k.c.Range(ctx, etcd.Prefix(prefix))
		for _, kv := range res.KVs {
			each(kv.Key, kv.Value)
		}
		return len(res.KVs), err
	case harness.ListPaged:
		return k.listPaged(ctx, prefix, each)
	}
	n := 0
	for kv, err := range k.c.Scan(ctx, etcd.Prefix(prefix)) {
		if err != nil {
			return n, err
		}
		each(kv.Key, kv.Value)
		n++
	}
	return n, nil
}

// listPaged reads in 1,000-key Range pages at the first page's revision, continuing after the
// last key: the requests Scan sent before it streamed.
func (k client) listPaged(ctx context.Context, prefix string, each func(key, value []byte)) (int, error) {
	r := etcd.Prefix(prefix)
	n, rev := 0, int64(0)
	for {
		res, err := k.c.Range(ctx, r, etcd.Limit(1000), etcd.AtRevision(rev))
		if err != nil {
			return n, err
		}
		rev = res.Header.Revision
		for _, kv := range res.KVs {
			each(kv.Key, kv.Value)
		}
		n += len(res.KVs)
		if !res.More || len(res.KVs) == 0 {
			return n, nil
		}
		last := res.KVs[len(res.KVs)-1].Key
		r.Key = append(last[:len(last):len(last)], 0)
	}
}

// WatchKeys ranges over one Watch per key, each on a goroutine of its own: the iterator API's
// way (every watcher shares the client's one watch stream).
func (k client) WatchKeys(ctx context.Context, keys []string, from int64, event func(i int, value []byte)) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() {
			for ev, err := range k.c.Watch(ctx, etcd.Key(key), etcd.FromRevision(from)) {
				if err != nil {
					return
				}
				if ev.Type == etcd.EventPut {
					event(i, ev.KV.Value)
				}
			}
		})
	}
	return func() { cancel(); wg.Wait() }, nil
}

func (k client) Grant(ctx context.Context, ttl time.Duration) (int64, error) {
	l, err := k.c.Grant(ctx, ttl)
	return int64(l.ID), err
}

func (k client) KeepAlive(ctx context.Context, id int64) error {
	_, err := k.c.KeepAlive(ctx, etcd.LeaseID(id))
	return err
}

func (k client) Revoke(ctx context.Context, id int64) error {
	_, err := k.c.Revoke(ctx, etcd.LeaseID(id))
	return err
}

func (k client) TTL(ctx context.Context, id int64) (int64, error) {
	info, err := k.c.TimeToLive(ctx, etcd.LeaseID(id))
	if errors.Is(err, etcd.ErrLeaseNotFound) {
		return -1, nil
	}
	return int64(info.TTL / time.Second), err
}

type locker struct {
	s *etcd.Session
	m *etcd.Mutex
}

// NewLocker returns a contender with a session of its own.
func (k client) NewLocker(ctx context.Context, name string) (harness.Locker, error) {
	s, err := k.c.NewSession(ctx)
	if err != nil {
		return nil, err
	}
	return locker{s, s.NewMutex(name)}, nil
}

func (l locker) Lock(ctx context.Context) error   { return l.m.Lock(ctx) }
func (l locker) Unlock(ctx context.Context) error { return l.m.Unlock(ctx) }
func (l locker) Close() error                     { return l.s.Close() }
