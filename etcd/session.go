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

// Close stops renewing the lease and revokes it, releasing everything attached to it. It is
// idempotent. A lease that is already gone is not an error.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.ka.Done()
		ctx, cancel := context.WithTimeout(s.c.life, min(s.ttl, 5*time.Second))
		defer cancel()
		if _, err := s.c.Revoke(ctx, s.lease); !errors.Is(err, ErrLeaseNotFound) {
			s.closeErr = err
		}
	})
	return s.closeErr
}
