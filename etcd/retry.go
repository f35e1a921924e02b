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
	return refusedBeforeApply[st.Message()] || (readOnly[method] && st.Code() == codes.Unavailable)
}

// retryInterceptor retries calls that are safe to send again, with backoff, within the
// call's context.
func (c *Client) retryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	bo := newBackoff()
	for attempt := 0; ; attempt++ {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil || attempt == maxRetries || !retryable(method, err) {
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
