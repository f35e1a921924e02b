package etcd

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// KeepAlive keeps one lease alive in the background until its context ends, the lease is
// lost, or the client closes. Done is closed then, and Err says why.
type KeepAlive struct {
	id   LeaseID
	done chan struct{}
	err  error        // why it ended; written before done is closed
	ttl  atomic.Int64 // the last TTL granted, in nanoseconds
	stop func() bool  // stops watching the caller's context
}

// ID returns the kept lease.
func (k *KeepAlive) ID() LeaseID { return k.id }

// Done is closed when the keep-alive ends.
func (k *KeepAlive) Done() <-chan struct{} { return k.done }

// Err is nil while the keep-alive runs; then ErrLeaseExpired (the lease was lost), ErrClosed,
// or the context's error.
func (k *KeepAlive) Err() error {
	select {
	case <-k.done:
		return k.err
	default:
		return nil
	}
}

// TTL is the time to live the server granted at the last renewal.
func (k *KeepAlive) TTL() time.Duration { return time.Duration(k.ttl.Load()) }

func (k *KeepAlive) finish(err error) {
	k.stop()
	k.err = err
	close(k.done)
}

// KeepAlive renews lease id every third of its TTL until ctx ends. All of a client's leases
// share one stream, which fails over to another endpoint when its endpoint goes away. It
// returns ErrLeaseNotFound at once when the lease does not exist.
func (c *Client) KeepAlive(ctx context.Context, id LeaseID) (*KeepAlive, error) {
	return c.keepAlive(ctx, ctx, id)
}

// keepAlive checks the lease within setup and keeps it alive until life ends.
func (c *Client) keepAlive(setup, life context.Context, id LeaseID) (*KeepAlive, error) {
	l, err := c.KeepAliveOnce(setup, id)
	if err != nil {
		return nil, err
	}
	k := &KeepAlive{id: id, done: make(chan struct{})}
	k.ttl.Store(int64(l.TTL))
	kp := c.leaseKeeper()
	k.stop = context.AfterFunc(life, func() {
		select {
		case kp.removes <- removal{k, context.Cause(life)}:
		case <-c.closing:
		}
	})
	select {
	case kp.adds <- k:
		return k, nil
	case <-c.closing:
		k.finish(ErrClosed)
		return nil, &Error{Op: "lease keep-alive", Key: id.String(), Err: ErrClosed}
	}
}

// leaseKeeper starts the client's keeper on first use.
func (c *Client) leaseKeeper() *keeper {
	c.keeperOnce.Do(func() {
		c.keeper = &keeper{
			c:       c,
			adds:    make(chan *KeepAlive),
			removes: make(chan removal),
			recv:    make(chan streamEvent[etcdserverpb.LeaseKeepAliveResponse]),
		}
		c.goLoop(c.keeper.run)
	})
	return c.keeper
}

// keeper owns the client's lease keep-alive stream and the state of every kept lease; only its
// run goroutine touches them.
//
// Invariant: a lease is alive until deadline, which is the send time of the request the
// server last answered plus the TTL it granted. Requests go out every TTL/3; a lease whose
// deadline passes without an answer, or that the server reports with TTL <= 0, is lost.
type keeper struct {
	c       *Client
	adds    chan *KeepAlive
	removes chan removal
	recv    chan streamEvent[etcdserverpb.LeaseKeepAliveResponse]
}

type removal struct {
	k   *KeepAlive
	err error
}

// kept is one lease's renewal state.
type kept struct {
	ttl      time.Duration
	nextSend time.Time
	sentAt   time.Time // the oldest unanswered request; zero when none
	deadline time.Time
	holders  map[*KeepAlive]bool
}

type leaseStream = grpc.BidiStreamingClient[etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponse]

func (kp *keeper) run() {
	leases := make(map[LeaseID]*kept)
	var (
		stream  leaseStream
		cancel  context.CancelFunc
		gen     int
		retryAt time.Time
		bo      = newBackoff()
		timer   = time.NewTimer(time.Hour)
		scan    = true // walk every lease before waiting again
	)
	defer timer.Stop()
	closeStream := func() {
		if stream != nil {
			cancel()
			stream, cancel = nil, nil
		}
	}
	broken := func(err error) {
		kp.c.log.Debug("etcd: lease keep-alive stream broken, reopening", "err", err)
		closeStream()
		retryAt = time.Now().Add(bo.next())
		scan = true
	}
	lose := func(id LeaseID, err error) {
		for k := range leases[id].holders {
			k.finish(err)
		}
		delete(leases, id)
	}
	for {
		// A scan is the only walk over every lease: it runs when the timer fires or the set of
		// leases or the stream changed, never per response, so a round of n renewals costs
		// O(n) and not O(n²).
		if scan {
			scan = false
			now := time.Now()
			if len(leases) == 0 {
				closeStream()
			} else if stream == nil && !now.Before(retryAt) {
				ctx, cf := context.WithCancel(context.Background())
				s, err := kp.c.lease.LeaseKeepAlive(ctx)
				if err != nil {
					cf()
					broken(err)
				} else if next := gen + 1; kp.c.goLoop(func() { forward(ctx, next, s.Recv, kp.recv) }) {
					stream, cancel, gen = s, cf, next
					for _, l := range leases {
						l.nextSend = now // renew at once on a new stream
					}
				} else {
					cf()
				}
			}
			next := now.Add(time.Hour)
			for id, l := range leases {
				if now.After(l.deadline) {
					lose(id, &Error{Op: "lease keep-alive", Key: id.String(), Err: fmt.Errorf("%w: no renewal before its deadline", ErrLeaseExpired)})
					continue
				}
				// Renewals due within the slack go out now, so leases granted close together
				// share wake-ups.
				if stream != nil && !now.Add(l.ttl/10).Before(l.nextSend) {
					if err := stream.Send(&etcdserverpb.LeaseKeepAliveRequest{ID: int64(id)}); err != nil {
						broken(err)
					} else {
						if l.sentAt.IsZero() {
							l.sentAt = now
						}
						l.nextSend = now.Add(l.ttl / 3)
					}
				}
				next = earliest(next, l.deadline.Add(time.Millisecond))
				if stream != nil {
					next = earliest(next, l.nextSend)
				}
			}
			if stream == nil && len(leases) > 0 {
				next = earliest(next, retryAt)
			}
			timer.Reset(time.Until(next))
		}

		select {
		case <-kp.c.closing:
			closeStream()
			for id := range leases {
				lose(id, &Error{Op: "lease keep-alive", Key: id.String(), Err: ErrClosed})
			}
			return
		case k := <-kp.adds:
			l := leases[k.id]
			if l == nil {
				l = &kept{ttl: k.TTL(), deadline: time.Now().Add(k.TTL()), holders: make(map[*KeepAlive]bool)}
				l.nextSend = time.Now().Add(l.ttl / 3)
				leases[k.id] = l
			}
			l.holders[k] = true
			scan = true
		case r := <-kp.removes:
			if l := leases[r.k.id]; l != nil && l.holders[r.k] {
				delete(l.holders, r.k)
				r.k.finish(&Error{Op: "lease keep-alive", Key: r.k.id.String(), Err: r.err})
				if len(l.holders) == 0 {
					delete(leases, r.k.id)
					scan = len(leases) == 0 // only to close the stream
				}
			}
		case ev := <-kp.recv:
			if ev.gen != gen {
				continue
			}
			if ev.err != nil {
				broken(ev.err)
				continue
			}
			bo.reset()
			id := LeaseID(ev.resp.GetID())
			l := leases[id]
			if l == nil {
				continue
			}
			if ev.resp.GetTTL() <= 0 {
				lose(id, &Error{Op: "lease keep-alive", Key: id.String(), Err: ErrLeaseExpired})
				continue
			}
			// The deadline only moves later, and the next send is unchanged: the timer stays right.
			l.ttl = time.Duration(ev.resp.GetTTL()) * time.Second
			if !l.sentAt.IsZero() {
				l.deadline = l.sentAt.Add(l.ttl)
				l.sentAt = time.Time{}
			}
			for k := range l.holders {
				k.ttl.Store(int64(l.ttl))
			}
		case <-timer.C:
			scan = true
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
