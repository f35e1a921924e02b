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

// WithTTL sets the session's TTL: how long its lease outlives a dead holder. Zero means 60s.
func WithTTL(ttl time.Duration) SessionOption {
	return sessionOption(func(c *sessionConfig) { c.ttl = ttl })
}

// WithExistingLease resumes a session on a lease granted earlier, instead of granting one.
func WithExistingLease(id LeaseID) SessionOption {
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

// Lease returns the session's lease; attach keys to it with WithLease.
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
// resumes the lease (WithExistingLease). Done is closed afterwards; Close then does nothing.
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

// revokeHedgeDelay is how long a revoke on close waits for its member before it is also sent
// through another one.
const revokeHedgeDelay = 200 * time.Millisecond

// revokeHedged revokes lease id within ctx; when the revoke has no answer after
// revokeHedgeDelay it is sent once more, to another endpoint in use. Revoking twice is
// harmless (the second finds the lease gone), so unlike other writes a revoke may be sent
// twice. A lease already gone is not an error.
func (c *Client) revokeHedged(ctx context.Context, id LeaseID) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.health != nil && routeOf(ctx) == nil {
		ctx, _ = routed(ctx) // both tries share it: the second goes elsewhere
	}
	errs := make(chan error, 2)
	revoke := func() {
		_, err := c.Revoke(ctx, id)
		errs <- err
	}
	go revoke()
	t := time.NewTimer(revokeHedgeDelay)
	defer t.Stop()
	out, hedged := 1, c.health == nil
	var last error
	for {
		select {
		case err := <-errs:
			if err == nil || errors.Is(err, ErrLeaseNotFound) {
				return nil
			}
			last = err
			if out--; out == 0 && hedged {
				return last
			}
			if out == 0 { // failed fast: try elsewhere at once
				t.Reset(0)
			}
		case <-t.C:
			if !hedged {
				hedged = true
				out++
				go revoke()
			}
		}
	}
}
