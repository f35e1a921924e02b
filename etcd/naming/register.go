//etcdkit:needs Lease,Watch

package naming

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
)

// defaultTTL is a registration's lease TTL when none is given: how long a dead instance
// stays listed.
const defaultTTL = 10 * time.Second

// closeTimeout bounds the delete of a registration made AttachSession or AttachLease.
const closeTimeout = time.Second

// RegisterOption configures Register.
type RegisterOption interface{ applyRegister(*registerConfig) }

type registerConfig struct {
	ttl   time.Duration
	sess  *etcd.Session
	lease etcd.LeaseID
}

type registerOption func(*registerConfig)

func (f registerOption) applyRegister(c *registerConfig) { f(c) }

// TTL sets the TTL of the registration's lease: an instance that dies without Close
// drops out of the list within it. Zero means 10 seconds; etcd rounds it up to whole seconds.
func TTL(ttl time.Duration) RegisterOption {
	return registerOption(func(c *registerConfig) { c.ttl = ttl })
}

// AttachSession publishes the instance on s's lease instead of a lease of its own, so that one
// keep-alive serves a process's registrations, locks and elections. The key then lives as
// long as the session: when the session ends, the key goes with its lease and is not
// published again (Done says so), and Close deletes the key and leaves the session running.
// TTL has no effect with it.
func AttachSession(s *etcd.Session) RegisterOption {
	return registerOption(func(c *registerConfig) { c.sess = s })
}

// AttachLease publishes the instance on lease id, which the caller grants and keeps alive,
// instead of a lease of its own. The key lives as long as the lease; Close deletes the key and
// leaves the lease alone. TTL has no effect with it; AttachSession, when also given, wins.
func AttachLease(id etcd.LeaseID) RegisterOption {
	return registerOption(func(c *registerConfig) { c.lease = id })
}

// Registration is a published instance, kept in etcd until Close.
type Registration struct {
	c     *etcd.Client
	key   string
	value string
	ttl   time.Duration

	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
	sess   *etcd.Session // owned by run until done
	shared bool          // the lease is the caller's (AttachSession, with sess set; AttachLease)

	closeOnce sync.Once
	closeErr  error
}

// Register publishes ep as instance id of service, under the key "<service>/<id>" (clientv3's
// resolver reads the same keys; its users often take the address as the id), on a lease of
// its own, and returns once the key is written. In the background it keeps the lease alive
// and, when the lease is lost anyway (the process was paused or cut off from etcd for longer
// than the TTL, or someone revoked it), publishes the key again on a new lease, with backoff,
// until Close. It stops trying when the client is closed.
func Register(ctx context.Context, c *etcd.Client, service, id string, ep Endpoint, opts ...RegisterOption) (*Registration, error) {
	p, err := prefix("register", service)
	if err != nil {
		return nil, err
	}
	if id == "" || ep.Addr == "" {
		return nil, fmt.Errorf("naming: register %q: %w: empty id or address", service, etcd.ErrInvalidArgument)
	}
	cfg := registerConfig{ttl: defaultTTL}
	for _, o := range opts {
		o.applyRegister(&cfg)
	}
	value, err := encode(ep)
	if err != nil {
		return nil, fmt.Errorf("naming: register %q: %w: metadata: %v", p+id, etcd.ErrInvalidArgument, err)
	}
	r := &Registration{c: c, key: p + id, value: value, ttl: cfg.ttl, done: make(chan struct{})}
	if cfg.sess != nil {
		cfg.lease = cfg.sess.Lease()
	}
	if cfg.lease != 0 {
		r.sess, r.shared = cfg.sess, true
		if _, err := c.Put(ctx, r.key, r.value, etcd.AttachLease(cfg.lease)); err != nil {
			return nil, fmt.Errorf("naming: register %q: %w", r.key, err)
		}
	} else if r.sess, err = r.publish(ctx); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(lctx)
	return r, nil
}

// Done is closed when the registration ends: after Close, when the client is closed (with a
// lease of its own), or, with AttachSession, when the session ends.
func (r *Registration) Done() <-chan struct{} { return r.done }

// Key returns the key the instance is published under.
func (r *Registration) Key() string { return r.key }

// publish writes the key on a new session's lease.
func (r *Registration) publish(ctx context.Context) (*etcd.Session, error) {
	sess, err := r.c.NewSession(ctx, etcd.TTL(r.ttl))
	if err != nil {
		return nil, fmt.Errorf("naming: register %q: %w", r.key, err)
	}
	if _, err := r.c.Put(ctx, r.key, r.value, etcd.AttachLease(sess.Lease())); err != nil {
		sess.Close()
		return nil, fmt.Errorf("naming: register %q: %w", r.key, err)
	}
	return sess, nil
}

// run publishes the key again each time its lease is lost, until ctx ends or the client is
// closed.
func (r *Registration) run(ctx context.Context) {
	defer close(r.done)
	b := newBackoff(2 * time.Second)
	defer b.stop()
	for {
		var lost <-chan struct{} // nil with AttachLease: the caller watches its lease
		if r.sess != nil {
			lost = r.sess.Done()
		}
		select {
		case <-ctx.Done():
			return
		case <-lost:
		}
		if r.shared {
			return // the caller's session ended, and the key with its lease
		}
		r.sess.Close() // the lease is gone; this only releases the session
		for {
			sess, err := r.publish(ctx)
			if err == nil {
				r.sess = sess
				b.reset()
				break
			}
			if errors.Is(err, etcd.ErrClosed) || !b.sleep(ctx, nil) {
				r.sess = nil
				return
			}
		}
	}
}

// Close withdraws the instance: it stops the background work and revokes the lease, which
// deletes the key (with AttachSession or AttachLease, it deletes the key). It returns within one
// second whatever the cluster does (see etcd.Session.Close); a key it could not withdraw in
// time goes when its lease expires. It is idempotent.
func (r *Registration) Close() error {
	r.closeOnce.Do(func() {
		r.cancel()
		<-r.done
		if r.shared {
			ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			defer cancel()
			if _, err := r.c.Delete(ctx, etcd.Key(r.key)); err != nil {
				r.closeErr = fmt.Errorf("naming: withdraw %q: %w", r.key, err)
			}
			return
		}
		if r.sess != nil {
			if err := r.sess.Close(); err != nil {
				r.closeErr = fmt.Errorf("naming: withdraw %q: %w", r.key, err)
			}
		}
	})
	return r.closeErr
}
