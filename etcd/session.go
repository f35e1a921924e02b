//etcdkit:needs Lease

package etcd

import (
	"context"
	"errors"
	"sync"
	"time"
)

// defaultSessionTTL is a session's TTL when none is given.
const defaultSessionTTL = 60 * time.Second

// Session is a lease kept alive in the background: the base of locks and elections. When the
// process holding it dies, the lease expires after its TTL and everything attached to it goes.
type Session struct {
	c      *Client
	lease  LeaseID
	ttl    time.Duration
	ka     *KeepAlive
	cancel context.CancelFunc

	closeOnce sync.Once
	closeErr  error
}

// SessionOption configures NewSession.
type SessionOption interface{ applySession(*sessionConfig) }

type sessionConfig struct {
	ttl   time.Duration
	lease LeaseID
}

type sessionOption func(*sessionConfig)

func (f sessionOption) applySession(c *sessionConfig) { f(c) }

// TTL sets the session's TTL: how long its lease outlives a dead holder. Zero means 60s.
func TTL(ttl time.Duration) SessionOption {
	return sessionOption(func(c *sessionConfig) { c.ttl = ttl })
}

// ExistingLease resumes a session on a lease granted earlier, instead of granting one.
func ExistingLease(id LeaseID) SessionOption {
	return sessionOption(func(c *sessionConfig) { c.lease = id })
}

// NewSession grants a lease (or takes the given one) and keeps it alive until Close. ctx
// bounds only the setup.
func (c *Client) NewSession(ctx context.Context, opts ...SessionOption) (*Session, error) {
	cfg := sessionConfig{ttl: defaultSessionTTL}
	for _, o := range opts {
		o.applySession(&cfg)
	}
	if cfg.lease == 0 {
		l, err := c.Grant(ctx, cfg.ttl)
		if err != nil {
			return nil, err
		}
		cfg.lease, cfg.ttl = l.ID, l.TTL
	}
	kctx, cancel := context.WithCancel(context.Background())
	ka, err := c.keepAlive(ctx, kctx, cfg.lease)
	if err != nil {
		cancel()
		return nil, err
	}
	return &Session{c: c, lease: cfg.lease, ttl: ka.TTL(), ka: ka, cancel: cancel}, nil
}

// Lease returns the session's lease; attach keys to it with AttachLease.
func (s *Session) Lease() LeaseID { return s.lease }

// TTL returns the lease's TTL as granted by the server.
func (s *Session) TTL() time.Duration { return s.ttl }

// Done is closed when the session ends: its lease was lost, the client closed, or Close.
func (s *Session) Done() <-chan struct{} { return s.ka.Done() }

// Err says why the session ended (ErrLeaseExpired when the lease was lost); nil while it runs.
func (s *Session) Err() error { return s.ka.Err() }

// bound returns ctx, ended also when the session ends.
func (s *Session) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ka.ended, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// Orphan stops renewing the lease without revoking it, so that what is attached to it lives
// on until its TTL runs out: a process hands its locks or leadership to a successor that
// resumes the lease (ExistingLease). Done is closed afterwards; Close then does nothing.
func (s *Session) Orphan() {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.ka.Done()
	})
}

// Close stops renewing the lease and revokes it, releasing everything attached to it. It
// returns within one second whatever the cluster does: a revoke whose member
// does not answer within revokeHedgeDelay is sent again through another member, and when no
// revoke is answered in time the lease still expires after its TTL. It is idempotent. A lease
// that is already gone is not an error.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.ka.Done()
		ctx, cancel := context.WithTimeout(s.c.life, closeTimeout)
		defer cancel()
		s.closeErr = s.c.revokeHedged(ctx, s.lease)
	})
	return s.closeErr
}

// closeTimeout bounds Session.Close.
const closeTimeout = time.Second

// revokeHedgeDelay is how long a revoke on close waits for an answer before it is sent
// again.
const revokeHedgeDelay = 200 * time.Millisecond

// revokeHedged revokes lease id within ctx, sending the revoke again every revokeHedgeDelay
// while none has been answered, each time to an endpoint in use that no try went to yet when
// there is one. Revoking twice is harmless (the second finds the lease gone), so unlike other
// writes a revoke may be sent more than once; a try also outlives a leader change, whose
// proposals in flight are lost. A lease already gone is not an error.
func (c *Client) revokeHedged(ctx context.Context, id LeaseID) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.health != nil && routeOf(ctx) == nil {
		ctx, _ = routed(ctx) // the tries share it: each goes elsewhere while it can
	}
	const most = 5
	errs := make(chan error, most)
	revoke := func() {
		_, err := c.Revoke(ctx, id)
		errs <- err
	}
	go revoke()
	sent, out := 1, 1
	t := time.NewTicker(revokeHedgeDelay)
	defer t.Stop()
	for {
		select {
		case err := <-errs:
			if err == nil || errors.Is(err, ErrLeaseNotFound) {
				return nil
			}
			if out--; out == 0 && (sent == most || ctx.Err() != nil || errors.Is(err, ErrClosed)) {
				return err
			}
		case <-t.C:
			if sent < most && ctx.Err() == nil {
				sent++
				out++
				go revoke()
			}
		}
	}
}
