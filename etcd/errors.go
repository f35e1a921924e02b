package etcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors, the package's one error table. Every error the package returns wraps one
// of these or a context error: a failed call returns an *Error naming the operation and the
// key; New returns ErrConfig wrapped with the reason. Test with errors.Is.
var (
	// ErrConfig: New was given a Config it cannot use (no endpoints, a bad URL, TLS missing or
	// misplaced, a password without a username).
	ErrConfig = errors.New("etcd: invalid config")
	// ErrKeyNotFound: Get found no key (a key with an empty value is found).
	ErrKeyNotFound = errors.New("etcd: key not found")
	// ErrCompacted: the requested revision has been compacted away.
	ErrCompacted = errors.New("etcd: required revision has been compacted")
	// ErrFutureRevision: the requested revision is newer than the store's.
	ErrFutureRevision = errors.New("etcd: required revision is a future revision")
	// ErrLeaseNotFound: the lease does not exist (never granted, revoked or expired).
	ErrLeaseNotFound = errors.New("etcd: lease not found")
	// ErrLeaseExpired: a kept-alive lease was lost: the server reported TTL 0, or no renewal
	// arrived before the lease's deadline.
	ErrLeaseExpired = errors.New("etcd: lease expired")
	// ErrNoLeader: the member has no leader. The request was refused before it was applied, so
	// it is safe to retry (see SafeToRetry).
	ErrNoLeader = errors.New("etcd: no leader")
	// ErrLearner: the member is a learner, which serves no requests but serializable reads
	// and status. The request was refused before it was applied, so it is safe to retry on
	// another member (see SafeToRetry); the client does so itself.
	ErrLearner = errors.New("etcd: rpc not supported for learner")
	// ErrTooManyRequests: the server is overloaded and refused the request.
	ErrTooManyRequests = errors.New("etcd: too many requests")
	// ErrRequestTooLarge: the request exceeds the server's or the client's message limit.
	ErrRequestTooLarge = errors.New("etcd: request is too large")
	// ErrResponseTooLarge: the response exceeds the client's receive limit (Config.MaxResponseBytes).
	ErrResponseTooLarge = errors.New("etcd: response is too large")
	// ErrPermissionDenied: the authenticated user lacks permission for the keys.
	ErrPermissionDenied = errors.New("etcd: permission denied")
	// ErrAuthFailed: the username or password was rejected, or auth is not enabled.
	ErrAuthFailed = errors.New("etcd: authentication failed")
	// ErrInvalidAuthToken: the server rejected the auth token; the client refreshes it and
	// retries once, so callers see this only when refreshing did not help.
	ErrInvalidAuthToken = errors.New("etcd: invalid auth token")
	// ErrUnavailable: no endpoint could serve the request (down, unreachable, or timed out on
	// the server side). A write that fails this way may or may not have been applied.
	ErrUnavailable = errors.New("etcd: unavailable")
	// ErrNotSupported: the server's etcd version does not implement the request.
	ErrNotSupported = errors.New("etcd: not supported by this server version")
	// ErrInvalidArgument: the request was malformed (empty key, inverted range, bad TTL, ...).
	ErrInvalidArgument = errors.New("etcd: invalid argument")
	// ErrNoSpace: the server's storage quota is exhausted; only deletes and compaction work.
	ErrNoSpace = errors.New("etcd: database space exceeded")
	// ErrClusterMismatch: an endpoint answered for another cluster than the client's; the
	// client stops using it. A write that fails this way may have been applied there.
	ErrClusterMismatch = errors.New("etcd: endpoint belongs to another cluster")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("etcd: client is closed")
	// ErrLocked: TryLock found the lock held by another session.
	ErrLocked = errors.New("etcd: lock is held by another session")
	// ErrLockNotHeld: the lock is no longer ours: its key was deleted or its session's lease
	// expired, so Unlock changed nothing.
	ErrLockNotHeld = errors.New("etcd: lock is not held")
	// ErrMemberNotFound: no member has the given ID.
	ErrMemberNotFound = errors.New("etcd: member not found")
	// ErrMemberExists: a member already has the given ID or peer URLs.
	ErrMemberExists = errors.New("etcd: member already exists")
	// ErrUserNotFound: no user has the given name (or the caller's own user was deleted).
	ErrUserNotFound = errors.New("etcd: user not found")
	// ErrUserExists: a user with the given name already exists.
	ErrUserExists = errors.New("etcd: user already exists")
	// ErrRoleNotFound: no role has the given name.
	ErrRoleNotFound = errors.New("etcd: role not found")
	// ErrRoleExists: a role with the given name already exists.
	ErrRoleExists = errors.New("etcd: role already exists")
	// ErrNotGranted: the role is not granted to the user, or the permission to the role, so
	// there is nothing to revoke.
	ErrNotGranted = errors.New("etcd: not granted")
	// ErrNoRootUser: enabling auth needs a user named root, and there is none.
	ErrNoRootUser = errors.New("etcd: root user does not exist")
	// ErrNoRootRole: enabling auth needs the root user to hold the role root, and it does not.
	ErrNoRootRole = errors.New("etcd: root user does not have the root role")
	// ErrNotElected: we do not lead the election (any more): our key was deleted or its
	// session's lease expired, so Proclaim or Resign changed nothing. (Not to be confused
	// with ErrNoLeader, a raft member without a leader.)
	ErrNotElected = errors.New("etcd: not elected")
	// ErrSnapshotChecksum: a snapshot's data did not match the sha256 the member sent after
	// it, or the stream ended before the checksum.
	ErrSnapshotChecksum = errors.New("etcd: snapshot checksum mismatch")
	// ErrServer: the server answered with an error this table does not know; the *Error's
	// Status carries the server's message.
	ErrServer = errors.New("etcd: server error")
)

// This file holds the client's whole classification of errors: serverErrors maps etcd's
// messages to sentinels (the only place etcd's strings are matched), codeErrors maps gRPC
// codes, and kinds says what each sentinel means to retries, SafeToRetry, auth and watches.

// serverErrors maps etcd's error descriptions, which are its wire identity for errors (the
// gRPC code alone is shared by several of them), to sentinels. The descriptions are stable
// across etcd 3.4 to 3.7.
var serverErrors = map[string]error{
	"etcdserver: mvcc: required revision has been compacted":         ErrCompacted,
	"etcdserver: mvcc: required revision is a future revision":       ErrFutureRevision,
	"etcdserver: requested lease not found":                          ErrLeaseNotFound,
	"etcdserver: no leader":                                          ErrNoLeader,
	"etcdserver: too many requests":                                  ErrTooManyRequests,
	"etcdserver: rpc not supported for learner":                      ErrLearner,
	"etcdserver: request is too large":                               ErrRequestTooLarge,
	"etcdserver: permission denied":                                  ErrPermissionDenied,
	"etcdserver: user name is empty":                                 ErrPermissionDenied,
	"etcdserver: authentication failed, invalid user ID or password": ErrAuthFailed,
	"etcdserver: authentication is not enabled":                      ErrAuthFailed,
	"etcdserver: user name not found":                                ErrUserNotFound,
	"etcdserver: user name already exists":                           ErrUserExists,
	"etcdserver: role name not found":                                ErrRoleNotFound,
	"etcdserver: role name already exists":                           ErrRoleExists,
	"etcdserver: role is not granted to the user":                    ErrNotGranted,
	"etcdserver: permission is not granted to the role":              ErrNotGranted,
	"etcdserver: root user does not exist":                           ErrNoRootUser,
	"etcdserver: root user does not have root role":                  ErrNoRootRole,
	"etcdserver: member not found":                                   ErrMemberNotFound,
	"etcdserver: member ID already exist":                            ErrMemberExists,
	"etcdserver: Peer URLs already exists":                           ErrMemberExists,
	"etcdserver: invalid auth token":                                 ErrInvalidAuthToken,
	"etcdserver: revision of auth store is old":                      ErrInvalidAuthToken,
	"etcdserver: mvcc: database space exceeded":                      ErrNoSpace,
	"etcdserver: key is not provided":                                ErrInvalidArgument,
	"etcdserver: duplicate key given in txn request":                 ErrInvalidArgument,
	"etcdserver: too many operations in txn request":                 ErrInvalidArgument,
	"etcdserver: lease TTL is too large":                             ErrInvalidArgument,
	"etcdserver: lease already exists":                               ErrInvalidArgument,
	clusterMismatch:                                                  ErrClusterMismatch,
}

// clusterMismatch is the client's own description of a response from another cluster.
const clusterMismatch = "etcdkit: endpoint belongs to another cluster"

// codeErrors maps gRPC status codes to sentinels when the description is not one of etcd's.
var codeErrors = map[codes.Code]error{
	codes.Unavailable:        ErrUnavailable,
	codes.Unimplemented:      ErrNotSupported,
	codes.PermissionDenied:   ErrPermissionDenied,
	codes.Unauthenticated:    ErrInvalidAuthToken,
	codes.InvalidArgument:    ErrInvalidArgument,
	codes.OutOfRange:         ErrInvalidArgument,
	codes.FailedPrecondition: ErrInvalidArgument,
}

// kind is what a sentinel means to the client's retries and loops.
type kind uint8

const (
	// refused: the request was turned away before it was applied, so it may be sent again,
	// even a write (SafeToRetry).
	refused kind = 1 << iota
	// staleToken: the server rejected the auth token; authenticate again, then resend.
	staleToken
	// final: a new attempt or a re-opened stream would meet the same error.
	final
)

// kinds classifies the sentinels; a sentinel not listed is none of the above.
var kinds = map[error]kind{
	ErrNoLeader:         refused,
	ErrTooManyRequests:  refused,
	ErrLearner:          refused,
	ErrInvalidAuthToken: refused | staleToken,
	ErrClosed:           refused,
	ErrAuthFailed:       final,
	ErrPermissionDenied: final,
	ErrNotSupported:     final,
	ErrInvalidArgument:  final,
	ErrMemberNotFound:   final,
	ErrMemberExists:     final,
	ErrUserNotFound:     final,
	ErrUserExists:       final,
	ErrRoleNotFound:     final,
	ErrRoleExists:       final,
	ErrNotGranted:       final,
	ErrNoRootUser:       final,
	ErrNoRootRole:       final,
}

// kindOf returns the kind of err: a gRPC status error (as interceptors see it) or an error
// of this package wrapping a sentinel.
func kindOf(err error) kind {
	if err == nil {
		return 0
	}
	for s, k := range kinds {
		if errors.Is(err, s) {
			return k
		}
	}
	if st, ok := status.FromError(err); ok {
		return kinds[statusSentinel(st)]
	}
	return 0
}

// Error is the error every failed call returns: the operation, the key it concerned (when
// there is one), and the cause, which wraps a sentinel (errors.Is) and, for server errors,
// the gRPC status (status.FromError via errors.As on *Error's Status).
type Error struct {
	// Op is the operation, as etcd names it: "get", "put", "txn", "lease grant", ...
	Op string
	// Key is the key or range start the operation concerned; empty when there is none.
	Key string
	// Err is the cause: a sentinel of this package, or a context error.
	Err error
	// Status is the gRPC status the server or transport returned; nil for client-side errors.
	Status *status.Status
}

// Error formats as `etcd: put "a": request is too large (rpc error: ...)`. A zero Error
// formats as "etcd: error".
func (e *Error) Error() string {
	if e.Err == nil && e.Op == "" {
		return "etcd: error"
	}
	cause := "error"
	if e.Err != nil {
		cause = strings.TrimPrefix(e.Err.Error(), "etcd: ")
	}
	var b strings.Builder
	b.WriteString("etcd: ")
	b.WriteString(e.Op)
	if e.Key != "" {
		b.WriteString(" ")
		b.WriteString(strconv.Quote(e.Key))
	}
	b.WriteString(": ")
	b.WriteString(cause)
	if e.Status != nil && !strings.Contains(cause, e.Status.Message()) {
		fmt.Fprintf(&b, " (%s: %s)", e.Status.Code(), e.Status.Message())
	}
	return b.String()
}

// Unwrap returns the cause, so errors.Is(err, ErrCompacted) and errors.Is(err,
// context.DeadlineExceeded) work.
func (e *Error) Unwrap() error { return e.Err }

// GRPCStatus returns the gRPC status behind the error, for status.FromError and status.Code.
func (e *Error) GRPCStatus() *status.Status { return e.Status }

// opError builds the *Error for a failed call, mapping gRPC statuses through the tables
// above. A nil err gives nil.
func opError(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Op: op, Key: key, Err: err}
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{Op: op, Key: key, Err: err}
	}
	sentinel := statusSentinel(st)
	if sentinel == ErrResponseTooLarge && !readOps[op] {
		// grpc-go words a server refusing a large request exactly like the client refusing a
		// large response; only a read has a response that can be large.
		sentinel = ErrRequestTooLarge
	}
	return &Error{Op: op, Key: key, Err: sentinel, Status: st}
}

// readOps are the operations whose responses can outgrow the client's receive limit.
var readOps = map[string]bool{"get": true, "range": true, "scan": true, "lease timetolive": true}

// statusSentinel finds the sentinel for a gRPC status.
func statusSentinel(st *status.Status) error {
	if s, ok := serverErrors[st.Message()]; ok {
		return s
	}
	switch st.Code() {
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	case codes.ResourceExhausted:
		// grpc-go's own limits: "trying to send message larger than max" (client send) or
		// "received message larger than max" (client receive).
		if strings.Contains(st.Message(), "received message larger than max") {
			return ErrResponseTooLarge
		}
		if strings.Contains(st.Message(), "larger than max") {
			return ErrRequestTooLarge
		}
		return ErrTooManyRequests
	}
	if s, ok := codeErrors[st.Code()]; ok {
		return s
	}
	return fmt.Errorf("%w: %s", ErrServer, st.Message())
}

// renameOp returns err as an *Error of op on key, keeping its cause and status.
func renameOp(op, key string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Op: op, Key: key, Err: e.Err, Status: e.Status}
	}
	return opError(op, key, err)
}

// reasonMessage returns the server message inside a reason string that holds a formatted
// gRPC status ("rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"), as a
// watch's cancel reason does; other reasons are returned unchanged.
func reasonMessage(reason string) string {
	const desc = " desc = "
	if strings.HasPrefix(reason, "rpc error: ") {
		if i := strings.Index(reason, desc); i >= 0 {
			return reason[i+len(desc):]
		}
	}
	return reason
}

// SafeToRetry reports whether a failed request certainly was not applied, so that even a
// write may be sent again: the server refused it before applying (no leader, overloaded,
// rejected token), or the client was closed before sending it. A write that failed with
// ErrUnavailable or a deadline may have been applied: SafeToRetry is false for it.
func SafeToRetry(err error) bool { return kindOf(err)&refused != 0 }
