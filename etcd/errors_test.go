package etcd

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestOpErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code codes.Code
		msg  string
		want error
	}{
		{codes.OutOfRange, "etcdserver: mvcc: required revision has been compacted", ErrCompacted},
		{codes.OutOfRange, "etcdserver: mvcc: required revision is a future revision", ErrFutureRevision},
		{codes.NotFound, "etcdserver: requested lease not found", ErrLeaseNotFound},
		{codes.Unavailable, "etcdserver: no leader", ErrNoLeader},
		{codes.ResourceExhausted, "etcdserver: too many requests", ErrTooManyRequests},
		{codes.InvalidArgument, "etcdserver: request is too large", ErrRequestTooLarge},
		{codes.ResourceExhausted, "trying to send message larger than max (5000 vs. 4000)", ErrRequestTooLarge},
		{codes.ResourceExhausted, "grpc: received message larger than max (5000 vs. 4000)", ErrRequestTooLarge},
		{codes.PermissionDenied, "etcdserver: permission denied", ErrPermissionDenied},
		{codes.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password", ErrAuthFailed},
		{codes.Unauthenticated, "etcdserver: invalid auth token", ErrInvalidAuthToken},
		{codes.Unavailable, "connection refused", ErrUnavailable},
		{codes.Unimplemented, "unknown method RangeStream", ErrNotSupported},
		{codes.DeadlineExceeded, "context deadline exceeded", context.DeadlineExceeded},
		{codes.ResourceExhausted, "etcdserver: mvcc: database space exceeded", ErrNoSpace},
		{codes.NotFound, "etcdserver: member not found", ErrMemberNotFound},
		{codes.FailedPrecondition, "etcdserver: Peer URLs already exists", ErrMemberExists},
		{codes.FailedPrecondition, "etcdserver: user name not found", ErrUserNotFound},
		{codes.FailedPrecondition, "etcdserver: role name already exists", ErrRoleExists},
		{codes.FailedPrecondition, "etcdserver: root user does not have root role", ErrNoRootRole},
		{codes.FailedPrecondition, "etcdserver: root user does not exist", ErrNoRootUser},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			err := opError("put", "k", status.Error(tt.code, tt.msg))
			if !errors.Is(err, tt.want) {
				t.Fatalf("opError(%v %q) = %v, want errors.Is %v", tt.code, tt.msg, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), `etcd: put "k": `) {
				t.Fatalf("message %q does not name the op and key", err)
			}
			if status.Code(err) != tt.code {
				t.Fatalf("status.Code = %v, want %v", status.Code(err), tt.code)
			}
		})
	}
}

func TestLargeResponseIsNamedForReads(t *testing.T) {
	t.Parallel()
	err := opError("range", "k", status.Error(codes.ResourceExhausted, "grpc: received message larger than max (5000 vs. 4000)"))
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("a read refused for its size = %v, want ErrResponseTooLarge", err)
	}
}

func TestSafeToRetry(t *testing.T) {
	t.Parallel()
	if !SafeToRetry(opError("put", "k", status.Error(codes.Unavailable, "etcdserver: no leader"))) {
		t.Error("no leader must be safe to retry: the server refused before applying")
	}
	if SafeToRetry(opError("put", "k", status.Error(codes.Unavailable, "etcdserver: request timed out"))) {
		t.Error("a timed-out write may have been applied: not safe to retry")
	}
	if SafeToRetry(opError("put", "k", context.DeadlineExceeded)) {
		t.Error("a deadline may hit after the write was applied: not safe to retry")
	}
}

func TestReasonMessage(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"rpc error: code = Unauthenticated desc = etcdserver: invalid auth token": "etcdserver: invalid auth token",
		"rpc error: code = PermissionDenied desc = etcdserver: permission denied": "etcdserver: permission denied",
		"etcdserver: mvcc: required revision has been compacted":                  "etcdserver: mvcc: required revision has been compacted",
		"": "",
	}
	for in, want := range tests {
		if got := reasonMessage(in); got != want {
			t.Errorf("reasonMessage(%q) = %q, want %q", in, got, want)
		}
	}
	if kinds[serverErrors[reasonMessage("rpc error: code = Unauthenticated desc = etcdserver: invalid auth token")]]&staleToken == 0 {
		t.Error("an expired token in a watch's cancel reason is not recognised")
	}
}

// TestOneClassification: the interceptor's retries, SafeToRetry, token refresh and the watch
// all answer from one table, so they agree on every server error.
func TestOneClassification(t *testing.T) {
	t.Parallel()
	put := "/etcdserverpb.KV/Put"
	tests := []struct {
		code              codes.Code
		msg               string
		safe, token, done bool // SafeToRetry, token refresh, fatal to a watch
	}{
		{codes.Unavailable, "etcdserver: no leader", true, false, false},
		{codes.ResourceExhausted, "etcdserver: too many requests", true, false, false},
		{codes.Unavailable, "etcdserver: rpc not supported for learner", true, false, false},
		{codes.Unauthenticated, "etcdserver: invalid auth token", true, true, false},
		{codes.InvalidArgument, "etcdserver: revision of auth store is old", true, true, false},
		{codes.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password", false, false, true},
		{codes.PermissionDenied, "etcdserver: permission denied", false, false, true},
		{codes.FailedPrecondition, "etcdserver: user name already exists", false, false, true},
		{codes.Unavailable, "etcdserver: request timed out", false, false, false},
		{codes.FailedPrecondition, clusterMismatch, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			wire := status.Error(tt.code, tt.msg)
			err := opError("put", "k", wire)
			if got := SafeToRetry(err); got != tt.safe {
				t.Errorf("SafeToRetry = %v, want %v", got, tt.safe)
			}
			if got := retryable(put, wire) || tokenRejected(wire); got != tt.safe {
				t.Errorf("the interceptor resends a put: %v, want %v (as SafeToRetry)", got, tt.safe)
			}
			if got := tokenRejected(wire); got != tt.token {
				t.Errorf("tokenRejected = %v, want %v", got, tt.token)
			}
			if got := kindOf(err)&final != 0; got != tt.done {
				t.Errorf("fatal to a watch = %v, want %v", got, tt.done)
			}
		})
	}
	if err := opError("put", "k", status.Error(codes.FailedPrecondition, clusterMismatch)); !errors.Is(err, ErrClusterMismatch) {
		t.Errorf("a foreign answer = %v, want ErrClusterMismatch", err)
	}
}

// TestZeroValues checks that the zero Error formats and the zero Client closes, without a
// panic and with a fixed result.
func TestZeroValues(t *testing.T) {
	if got := (&Error{}).Error(); got != "etcd: error" {
		t.Errorf("(&Error{}).Error() = %q", got)
	}
	if got := (&Error{Op: "put", Key: "a"}).Error(); got != `etcd: put "a": error` {
		t.Errorf("Error without a cause = %q", got)
	}
	var c Client
	if err := c.Close(); err != nil {
		t.Errorf("zero Client's Close = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("zero Client's second Close = %v", err)
	}
}
