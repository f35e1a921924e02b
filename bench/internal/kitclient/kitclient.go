// Package kitclient adapts etcdkit's package etcd to the benchmark harness.
package kitclient

import (
	"context"
	"errors"
	"time"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
	"github.com/etcdkit/etcdkit/etcd"
)

type client struct{ c *etcd.Client }

// New returns an etcdkit client for endpoints.
func New(endpoints []string) (harness.Client, error) {
	c, err := etcd.New(etcd.Config{Endpoints: endpoints})
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

func (k client) Grant(ctx context.Context, ttl time.Duration) (int64, error) {
	l, err := k.c.Grant(ctx, ttl)
	return int64(l.ID), err
}

func (k client) KeepAlive(ctx context.Context, id int64) error {
	_, err := k.c.KeepAlive(ctx, etcd.LeaseID(id))
	return err
}

func (k client) TTL(ctx context.Context, id int64) (int64, error) {
	info, err := k.c.TimeToLive(ctx, etcd.LeaseID(id), false)
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
