package etcd

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Metadata keys etcd reads on every call and stream.
const (
	tokenKey     = "token"     // the auth token from Auth/Authenticate
	hasLeaderKey = "hasleader" // "true": fail when the member has no leader
)

// login asks the cluster for an auth token. Auth.Authenticate is called by method path with
// its messages encoded here (request: name = 1, password = 2; response: token = 2), so that
// every copy of the kit can log in whatever its stubs keep.
func login(ctx context.Context, conn grpc.ClientConnInterface, user, password string) (string, error) {
	req := appendRawString(appendRawString(nil, 1, user), 2, password)
	resp, err := invokeRaw(ctx, conn, "/etcdserverpb.Auth/Authenticate", req)
	if err != nil {
		return "", err
	}
	fields, err := rawFields(resp)
	if err != nil {
		return "", err
	}
	var token string
	for _, f := range fields {
		if f.num == 2 {
			token = string(f.bytes)
		}
	}
	return token, nil
}

// authenticator holds the auth token: fetched on first use, shared by every call and stream,
// and fetched again when the server rejects it.
type authenticator struct {
	user, password string
	conn           grpc.ClientConnInterface

	mu    sync.Mutex
	token string
}

// get returns the current token, authenticating when there is none.
func (a *authenticator) get(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" {
		return a.token, nil
	}
	token, err := login(ctx, a.conn, a.user, a.password)
	if err != nil {
		return "", opError("authenticate", "", err)
	}
	a.token = token
	return a.token, nil
}

// invalidate forgets token if it is still the current one, so that the next get
// authenticates again; a token already replaced by another caller is kept.
func (a *authenticator) invalidate(token string) {
	a.mu.Lock()
	if a.token == token {
		a.token = ""
	}
	a.mu.Unlock()
}

// rejected drops a token the server rejected on a call or stream of method, so that the next
// try or the re-opened stream authenticates again, and says so in the debug log.
func (a *authenticator) rejected(log Logger, method, token string) {
	log.Debug("etcd: auth token rejected, authenticating again", "method", method)
	a.invalidate(token)
}

// forget drops the current token, whatever it is, so that the next get authenticates again.
// It is for a rejection that does not say which token was rejected (a watch's cancel reason).
func (a *authenticator) forget() {
	a.mu.Lock()
	a.token = ""
	a.mu.Unlock()
}

// tokenRejected reports whether err says the server no longer accepts the token: it expired
// or was issued before the auth store changed.
func tokenRejected(err error) bool { return kindOf(err)&staleToken != 0 }

// withToken attaches the auth token for method, when the client authenticates, and returns
// the token it used ("" when none).
func (c *Client) withToken(ctx context.Context, method string) (context.Context, string, error) {
	if c.auth == nil || method == methodAuthenticate {
		return ctx, "", nil
	}
	token, err := c.auth.get(ctx)
	if err != nil {
		return ctx, "", err
	}
	return metadata.AppendToOutgoingContext(ctx, tokenKey, token), token, nil
}

// streamInterceptor attaches the token and the leader requirement to a new stream: a stream
// (watch, lease keep-alive) on a member cut off from its leader would otherwise stay open and
// silent, where with hasleader it fails and its owner re-opens it on another member. When the
// stream later fails because the token was rejected, the token is dropped so that the owner
// gets a fresh one.
func (c *Client) streamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	octx, token, err := c.withToken(metadata.AppendToOutgoingContext(ctx, hasLeaderKey, "true"), method)
	if err != nil {
		return nil, err
	}
	s, err := streamer(octx, desc, cc, method, opts...)
	if err != nil {
		if c.auth != nil && tokenRejected(err) {
			c.auth.rejected(c.log, method, token)
		}
		return nil, err
	}
	if c.auth == nil {
		return s, nil
	}
	return &tokenStream{ClientStream: s, auth: c.auth, log: c.log, method: method, token: token}, nil
}

// tokenStream drops its token from the authenticator when a receive fails with it rejected.
type tokenStream struct {
	grpc.ClientStream
	auth   *authenticator
	log    Logger
	method string
	token  string
}

func (s *tokenStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if tokenRejected(err) {
		s.auth.rejected(s.log, s.method, s.token)
	}
	return err
}
