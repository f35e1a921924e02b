//etcdkit:needs Auth.AuthStatus
//go:build etcdkit_all

package etcd

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// AuthState is whether authentication is on, and the auth store's revision, which every
// change of users, roles or permissions increments.
type AuthState struct {
	Enabled  bool
	Revision uint64
	Header   Header
}

// AuthStatus reports whether authentication is enabled (etcd 3.5 and later; older servers
// answer ErrNotSupported). Any user may ask.
//
// Auth.AuthStatus is 3.5's: stubs of 3.4 lack its messages, so the call is made by method
// path with the messages encoded here (an empty request; header = 1, enabled = 2,
// authRevision = 3), and the package builds over any release's stubs.
func (c *Client) AuthStatus(ctx context.Context) (AuthState, error) {
	if err := c.check("auth status", ""); err != nil {
		return AuthState{}, err
	}
	req, resp := []byte{}, []byte{}
	err := c.conn.Invoke(ctx, "/etcdserverpb.Auth/AuthStatus", &req, &resp, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return AuthState{}, opError("auth status", "", err)
	}
	var st AuthState
	for len(resp) > 0 {
		num, typ, n := protowire.ConsumeTag(resp)
		if n < 0 {
			return AuthState{}, &Error{Op: "auth status", Err: fmt.Errorf("etcd: malformed AuthStatusResponse: %w", protowire.ParseError(n))}
		}
		resp = resp[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			b, m := protowire.ConsumeBytes(resp)
			var h etcdserverpb.ResponseHeader
			if m < 0 || proto.Unmarshal(b, &h) != nil {
				return AuthState{}, &Error{Op: "auth status", Err: fmt.Errorf("etcd: malformed AuthStatusResponse header")}
			}
			st.Header, n = header(&h), m
		case num == 2 && typ == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(resp)
			st.Enabled = v != 0
		case num == 3 && typ == protowire.VarintType:
			st.Revision, n = protowire.ConsumeVarint(resp)
		default:
			n = protowire.ConsumeFieldValue(num, typ, resp)
		}
		if n < 0 {
			return AuthState{}, &Error{Op: "auth status", Err: fmt.Errorf("etcd: malformed AuthStatusResponse: %w", protowire.ParseError(n))}
		}
		resp = resp[n:]
	}
	return st, nil
}
