//etcdkit:needs Lease

package etcd

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// KeepAlive keeps one lease alive in the background until its context ends, the lease is
// lost, or the client closes. Done is closed then, and Err says why.
type KeepAlive struct {
	id    LeaseID
	life  context.Context // keeps the lease while it lasts
	ended context.Context // ends with the keep-alive, for callers that need a context
	end   context.CancelFunc
	done  chan struct{}
	err   error        // why it ended; written before done is closed
	ttl   atomic.Int64 // the last TTL granted, in nanoseconds
	stop  func() bool  // stops watching life; set and called by the keeper's loop only
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
	if k.stop != nil {
		k.stop()
	}
	k.err = err
	close(k.done)
	k.end()
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
	k := &KeepAlive{id: id, done: make(chan struct{}), life: life}
	k.ended, k.end = context.WithCancel(context.Background())
	k.ttl.Store(int64(l.TTL))
	kp := c.leaseKeeper()
	select {
	case kp.adds <- k:
		return k, nil
	case <-c.closing:
		k.end()
		return nil, &Error{Op: "lease keep-alive", Key: id.String(), Err: ErrClosed}
	}
}

// leaseKeeper returns the client's keeper, started on first use.
func (c *Client) leaseKeeper() *keeper {
	return (*keeper)(c.part("lease keeper", func() unsafe.Pointer {
		kp := &keeper{
			c:       c,
			adds:    make(chan *KeepAlive),
			removes: make(chan *KeepAlive),
			leases:  make(map[LeaseID]*kept),
		}
		kp.pipe = newPipe(c, "lease keep-alive", func(ctx context.Context) (biStream[*etcdserverpb.LeaseKeepAliveRequest, *etcdserverpb.LeaseKeepAliveResponse], error) {
			return etcdserverpb.NewLeaseClient(c.conn).LeaseKeepAlive(ctx)
		}, nil)
		c.goLoop(kp.run)
		return unsafe.Pointer(kp)
	}))
}

// keeper owns the client's lease keep-alive stream and the state of every kept lease; only its
// run goroutine touches them.
//
// Invariant: a lease is alive until deadline, which is the send time of the request the
// server last answered plus the TTL it granted. Requests go out every TTL/3; a lease whose
// deadline passes without an answer, or that the server reports with TTL <= 0, is lost. A
// KeepAlive ends only through the loop: its context's end is watched from the moment the
// loop takes it, so a cancel can never arrive before the lease it cancels.
type keeper struct {
	c       *Client
	pipe    *pipe[*etcdserverpb.LeaseKeepAliveRequest, *etcdserverpb.LeaseKeepAliveResponse]
	adds    chan *KeepAlive
	removes chan *KeepAlive // holders whose context ended
	leases  map[LeaseID]*kept
	scan    bool // walk every lease before waiting again
	timer   *time.Timer
	wakeAt  time.Time // when timer fires
}

// kept is one lease's renewal state.
type kept struct {
	ttl      time.Duration
	nextSend time.Time
	sentAt   time.Time // the oldest unanswered request; zero when none
	deadline time.Time
	holders  []*KeepAlive // usually one: a slice walks faster than a map on every renewal
}

func (kp *keeper) run() {
	kp.timer = time.NewTimer(time.Hour)
	defer kp.timer.Stop()
	var moved <-chan struct{} // closed when the endpoints' states next change (see leaves)
	for {
		// A scan is the only walk over every lease: it runs when the timer fires, the stream
		// changed, the endpoints' states changed or the last lease went, never per response
		// or per added lease, so a round of n renewals, or n leases added, costs O(n) and not
		// O(n²).
		if kp.scan {
			kp.scan = false
			moved = kp.c.rotationMoved()
			kp.wake(kp.tick(time.Now()))
		}
		select {
		case <-kp.c.closing:
			kp.pipe.shut()
			for id := range kp.leases {
				kp.lose(id, ErrClosed)
			}
			return
		case k := <-kp.adds:
			kp.add(k)
		case k := <-kp.removes:
			kp.remove(k)
		case ev := <-kp.pipe.events:
			switch resp, n := kp.pipe.receive(ev, time.Now()); n {
			case opened:
				for _, l := range kp.leases {
					l.nextSend = time.Time{} // renew at once on a new stream
				}
				kp.scan = true
			case response:
				kp.renewed(resp)
			case failed:
				kp.scan = true
			}
		case <-kp.timer.C:
			kp.wakeAt = time.Time{}
			kp.scan = true
		case <-moved:
			kp.scan = true
		}
	}
}

// tick opens or probes the stream, sends the renewals that are due and loses the leases past
// their deadline. It returns when it must run next.
func (kp *keeper) tick(now time.Time) time.Time {
	if len(kp.leases) == 0 {
		kp.pipe.shut()
		return now.Add(time.Hour)
	}
	if kp.pipe.live() && kp.c.leaves(kp.pipe.member) {
		kp.pipe.fail(errSick, now) // to a member in use
	}
	kp.pipe.ensure(now)
	kp.pipe.check(now, kp.probe)
	next := kp.pipe.wake(now)
	for id, l := range kp.leases {
		if now.After(l.deadline) {
			kp.lose(id, fmt.Errorf("%w: no renewal before its deadline", ErrLeaseExpired))
			continue
		}
		// Renewals due within the slack go out now, so leases granted close together share
		// wake-ups.
		if kp.pipe.live() && !now.Add(l.ttl/10).Before(l.nextSend) {
			kp.renew(id, l, now)
		}
		next = earliest(next, l.deadline.Add(time.Millisecond))
		if kp.pipe.live() {
			next = earliest(next, l.nextSend)
		}
	}
	return next
}

// renew sends a renewal of lease id.
func (kp *keeper) renew(id LeaseID, l *kept, now time.Time) bool {
	if !kp.pipe.send(&etcdserverpb.LeaseKeepAliveRequest{ID: int64(id)}) {
		return false
	}
	if l.sentAt.IsZero() {
		l.sentAt = now
	}
	l.nextSend = now.Add(l.ttl / 3)
	return true
}

// probe is the pipe's liveness probe: an early renewal of the lease closest to its deadline.
func (kp *keeper) probe() (*etcdserverpb.LeaseKeepAliveRequest, bool) {
	var (
		first LeaseID
		l     *kept
	)
	for id, x := range kp.leases {
		if l == nil || x.deadline.Before(l.deadline) {
			first, l = id, x
		}
	}
	if l == nil {
		return nil, false
	}
	if l.sentAt.IsZero() {
		l.sentAt = time.Now()
	}
	return &etcdserverpb.LeaseKeepAliveRequest{ID: int64(first)}, true
}

// add takes a new holder of a lease, and watches its context from now on.
func (kp *keeper) add(k *KeepAlive) {
	if err := context.Cause(k.life); err != nil {
		k.finish(&Error{Op: "lease keep-alive", Key: k.id.String(), Err: err})
		return
	}
	l := kp.leases[k.id]
	if l == nil {
		now := time.Now()
		l = &kept{ttl: k.TTL(), deadline: now.Add(k.TTL())}
		l.nextSend = now.Add(l.ttl / 3)
		kp.leases[k.id] = l
	}
	l.holders = append(l.holders, k)
	k.stop = context.AfterFunc(k.life, func() {
		select {
		case kp.removes <- k:
		case <-kp.c.closing:
		}
	})
	if kp.pipe.idle() {
		kp.scan = true // open a stream
	} else if len(l.holders) == 1 {
		kp.wake(l.nextSend)
	}
}

// wake makes the timer fire by at, unless it fires earlier already.
func (kp *keeper) wake(at time.Time) {
	if !kp.wakeAt.IsZero() && !at.Before(kp.wakeAt) {
		return
	}
	kp.wakeAt = at
	kp.timer.Reset(time.Until(at))
}

// remove ends a holder whose context ended, and forgets its lease when it was the last one.
func (kp *keeper) remove(k *KeepAlive) {
	l := kp.leases[k.id]
	i := -1
	if l != nil {
		i = slices.Index(l.holders, k)
	}
	if i < 0 {
		return // already ended with its lease
	}
	l.holders = slices.Delete(l.holders, i, i+1)
	k.finish(&Error{Op: "lease keep-alive", Key: k.id.String(), Err: context.Cause(k.life)})
	if len(l.holders) == 0 {
		delete(kp.leases, k.id)
		kp.scan = len(kp.leases) == 0 // only to close the stream
	}
}

// lose ends every holder of lease id with err.
func (kp *keeper) lose(id LeaseID, err error) {
	for _, k := range kp.leases[id].holders {
		k.finish(&Error{Op: "lease keep-alive", Key: id.String(), Err: err})
	}
	delete(kp.leases, id)
}

// renewed applies the server's answer to a renewal.
func (kp *keeper) renewed(resp *etcdserverpb.LeaseKeepAliveResponse) {
	id := LeaseID(resp.GetID())
	l := kp.leases[id]
	if l == nil {
		return
	}
	if resp.GetTTL() <= 0 {
		kp.lose(id, ErrLeaseExpired)
		return
	}
	// The deadline only moves later, and the next send is unchanged: the timer stays right.
	l.ttl = time.Duration(resp.GetTTL()) * time.Second
	if !l.sentAt.IsZero() {
		l.deadline = l.sentAt.Add(l.ttl)
		l.sentAt = time.Time{}
	}
	for _, k := range l.holders {
		k.ttl.Store(int64(l.ttl))
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
