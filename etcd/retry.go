package etcd

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// maxRetries bounds how often one call is retried: with the backoff below, about 8 seconds of
// waiting, enough for a leader election and a member restart, while a cluster that stays
// down fails the call instead of hanging it.
const maxRetries = 8

// Method paths the interceptor treats apart. They are etcd's wire names, the same in every
// release, written out so that this file needs no stub beyond KV.
const (
	methodRange        = "/etcdserverpb.KV/Range"
	methodStatus       = "/etcdserverpb.Maintenance/Status"
	methodAuthenticate = "/etcdserverpb.Auth/Authenticate"
)

// readOnly lists the methods that change nothing, so that they may be sent again after any
// failure to reach a server; each new attempt goes to the next ready endpoint. (Status is
// not here: it asks one named endpoint and is never retried.)
var readOnly = map[string]bool{
	methodRange:                           true,
	"/etcdserverpb.Lease/LeaseTimeToLive": true,
	"/etcdserverpb.Lease/LeaseLeases":     true,
	"/etcdserverpb.Cluster/MemberList":    true,
	methodAuthenticate:                    true,
}

// retryable reports whether a call of method that failed with err may be sent again without
// risking a second application (write-at-most-once): any call the server refused before
// applying it, and a read after any failure to reach a server or an answer from another
// cluster (the next attempt goes to the next endpoint).
func retryable(method string, err error) bool {
	if kindOf(err)&(refused|staleToken) == refused {
		return true
	}
	if !readOnly[method] {
		return false
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return st.Message() == clusterMismatch
}

// unaryInterceptor returns the client's only unary interceptor (one, so that grpc-go has no
// chain to build per call). It attaches the auth token and retries what is safe to send again,
// with backoff, within the call's context: reads after any failure to reach a server, any call
// the server refused before applying it, and any call whose token was rejected, after
// authenticating again. With more than one endpoint, a read that has no answer after
// Config.ReadHedgeDelay is also sent to the next endpoint (see hedged).
//
// It is a closure rather than a method value, and calls the invoker itself when there is no
// token to attach and nothing to hedge: the method value's wrapper and attempt would each be
// one more frame on the stack of every call in flight, which the garbage collector walks on
// every cycle.
func (c *Client) unaryInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		var r *route // routes exist with several endpoints alone: one needs no lookup
		if c.health != nil {
			if r = routeOf(ctx); r != nil && r.pin != "" {
				// A health probe: one try at its endpoint, no token (any answer will do).
				return invoker(ctx, method, req, reply, cc, opts...)
			}
		}
		if method == methodStatus {
			// Status asks one endpoint on a connection of its own, without retries: it is how
			// callers inspect endpoints one by one.
			ctx, _, err := c.withToken(ctx, method)
			if err != nil {
				return err
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		// Authenticate runs while the token is being fetched: its reply is not checked.
		checked := method != methodAuthenticate
		if c.health != nil && r == nil {
			// The tries of one call (or of calls sharing a route: a hedged revoke) go to
			// endpoints not tried yet, while there are some.
			ctx, r = routed(ctx)
		}
		plain := c.auth == nil && !c.hedges(method)
		var bo *backoff // made on the first retry: most calls need none
		for attempt := 0; ; attempt++ {
			var err error
			if plain {
				err = invoker(ctx, method, req, reply, cc, opts...)
			} else {
				err = c.attempt(ctx, method, req, reply, cc, invoker, opts)
			}
			if err == nil && r != nil {
				c.health.heard(r.last(), reply)
				if checked {
					// A read sent before the cluster was settled is checked against it.
					err = c.health.awaitSettled(ctx)
				}
			}
			if err == nil && checked && c.foreign(reply) {
				if r != nil {
					c.health.foreignReply(r.last())
				}
				err = status.Error(codes.FailedPrecondition, clusterMismatch)
			}
			if err == nil || attempt == maxRetries || ctx.Err() != nil {
				return err
			}
			var wait time.Duration
			switch {
			case c.auth != nil && tokenRejected(err):
				// attempt dropped the token: go again at once with a fresh one.
			case retryable(method, err) || tokenRejected(err):
				// (A client without a token, under certificate auth, is refused when the auth
				// store changed under its request: the server turned it away before applying it.)
				if bo == nil {
					bo = newBackoff()
				}
				wait = bo.next()
				c.log.Debug("etcd: retrying", "method", method, "attempt", attempt+1, "wait", wait, "err", err)
			default:
				return err
			}
			if wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return err
				case <-t.C:
				}
			}
		}
	}
}

// hedges reports whether a call of method is hedged: it only reads and another endpoint
// could answer instead.
func (c *Client) hedges(method string) bool { return c.health != nil && readOnly[method] }

// attempt makes one try of a call with the current token, hedged when hedges says so.
func (c *Client) attempt(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	ctx, token, err := c.withToken(ctx, method)
	if err != nil {
		return err
	}
	if _, msg := reply.(proto.Message); msg && c.hedges(method) { // raw calls are not hedged
		err = c.hedged(ctx, method, req, reply, cc, invoker, opts)
	} else {
		err = invoker(ctx, method, req, reply, cc, opts...)
	}
	if token != "" && tokenRejected(err) {
		c.auth.rejected(c.log, method, token)
	}
	return err
}

// hedged sends a read, and each time it has no answer after Config.ReadHedgeDelay sends it
// once more to an endpoint in use that no try went to yet (see route), while there is one,
// taking the first answer. A hung endpoint, whose connection still looks healthy, costs the delay rather
// than the caller's deadline, while a read that is slow everywhere still completes. The first
// try runs on the caller's goroutine; only hedges start others. When the first try ends, the
// hedges still out are cancelled and their answers collected: a success among them wins.
func (c *Client) hedged(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	delay := orDefault(c.cfg.ReadHedgeDelay, defaultReadHedgeDelay)
	type answer struct {
		reply proto.Message
		err   error
	}
	r := routeOf(ctx)
	// Hedges at most: one per other endpoint the client knows, in use now or not: an endpoint
	// may come into use while the first try hangs (right after connecting, the others are
	// probed only after the first answer).
	most := max(len(c.health.view.Load().known)-1, 0)
	answers := make(chan answer, most)
	// Hedges decode into messages of their own, of reply's type, taken here: reading reply
	// in a hedge would race with the first try decoding into it.
	replyType := reply.(proto.Message).ProtoReflect().Type()
	var (
		mu    sync.Mutex
		over  bool // the first try ended: send no more hedges
		sent  int  // hedges sent
		timer *time.Timer
	)
	var hedge func()
	hedge = func() {
		mu.Lock()
		if over || sent == most || r.untried(c.health) == 0 {
			mu.Unlock()
			return
		}
		sent++
		timer = time.AfterFunc(delay, hedge)
		mu.Unlock()
		m := replyType.New().Interface()
		err := invoker(ctx, method, req, m, cc, opts...)
		if err == nil {
			cancel() // the other tries lost
		}
		answers <- answer{m, err}
	}
	mu.Lock()
	timer = time.AfterFunc(delay, hedge)
	mu.Unlock()

	err := invoker(ctx, method, req, reply, cc, opts...)
	mu.Lock()
	over = true
	timer.Stop()
	n := sent
	mu.Unlock()
	if n == 0 {
		return err
	}
	cancel()
	for range n {
		if a := <-answers; err != nil && a.err == nil {
			proto.Reset(reply.(proto.Message))
			proto.Merge(reply.(proto.Message), a.reply)
			err = nil
		}
	}
	return err
}
