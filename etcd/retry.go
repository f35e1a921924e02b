package etcd

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// maxRetries bounds how often one call is retried: with the backoff below, about 8 seconds of
// waiting, enough for a leader election and a member restart, while a cluster that stays
// down fails the call instead of hanging it.
const maxRetries = 8

// readOnly lists the methods that change nothing, so that they may be sent again after any
// failure to reach a server; each new attempt goes to the next ready endpoint.
var readOnly = map[string]bool{
	etcdserverpb.KV_Range_FullMethodName:              true,
	etcdserverpb.Lease_LeaseTimeToLive_FullMethodName: true,
	etcdserverpb.Lease_LeaseLeases_FullMethodName:     true,
	etcdserverpb.Cluster_MemberList_FullMethodName:    true,
	etcdserverpb.Maintenance_Status_FullMethodName:    true,
	etcdserverpb.Auth_Authenticate_FullMethodName:     true,
}

// refusedBeforeApply are the server's answers to requests it turned away before proposing
// them: any request, writes included, may be sent again after them.
var refusedBeforeApply = map[string]bool{
	"etcdserver: no leader":         true,
	"etcdserver: too many requests": true,
}

// retryable reports whether a call of method that failed with err may be sent again without
// risking a second application (write-at-most-once).
func retryable(method string, err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	if refusedBeforeApply[st.Message()] {
		return true
	}
	return readOnly[method] && (st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded)
}

// attempt makes one try of a call, under the read attempt deadline when the method only reads.
func (c *Client) attempt(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	if !readOnly[method] {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	actx, cancel := context.WithTimeout(ctx, orDefault(c.cfg.ReadAttemptTimeout, defaultReadAttemptTimeout))
	defer cancel()
	return invoker(actx, method, req, reply, cc, opts...)
}

// retryInterceptor retries calls that are safe to send again, with backoff, within the
// call's context. A read-only attempt also gets its own deadline (Config.ReadAttemptTimeout),
// so that a hung endpoint, whose connection still looks healthy, costs one attempt rather
// than the caller's whole deadline: the next attempt goes to the next endpoint.
func (c *Client) retryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	bo := newBackoff()
	for attempt := 0; ; attempt++ {
		err := c.attempt(ctx, method, req, reply, cc, invoker, opts)
		if err == nil || attempt == maxRetries || ctx.Err() != nil || !retryable(method, err) {
			return err
		}
		wait := bo.next()
		c.log.Debug("etcd: retrying", "method", method, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}
