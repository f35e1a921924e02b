//etcdkit:needs Auth.AuthStatus

package etcd

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// AuthStatus is whether authentication is on, and the auth store's revision, which every
// change of users, roles or permissions increments.
type AuthStatus struct {
	Enabled  bool   // authentication is on
	Revision uint64 // the auth store's revision
	Header   Header // the response's header
}

// AuthStatus reports whether authentication is enabled (etcd 3.5 and later; older servers
// answer ErrNotSupported). Any user may ask.
//
// Auth.AuthStatus is 3.5's: stubs of 3.4 lack its messages, so the call is made by method
// path with the messages encoded here (an empty request; header = 1, enabled = 2,
// authRevision = 3), and the package builds over any release's stubs.
func (c *Client) AuthStatus(ctx context.Context) (AuthStatus, error) {
	if err := c.check("auth status", ""); err != nil {
		return AuthStatus{}, err
	}
	resp, err := invokeRaw(ctx, c.conn, "/etcdserverpb.Auth/AuthStatus", nil)
	if err != nil {
		return AuthStatus{}, opError("auth status", "", err)
	}
	fields, err := rawFields(resp)
	if err != nil {
		return AuthStatus{}, &Error{Op: "auth status", Err: err}
	}
	var st AuthStatus
	for _, f := range fields {
		switch f.num {
		case 1:
			var h etcdserverpb.ResponseHeader
			if err := proto.Unmarshal(f.bytes, &h); err != nil {
				return AuthStatus{}, &Error{Op: "auth status", Err: fmt.Errorf("%w: header: %w", errMalformed, err)}
			}
			st.Header = header(&h)
		case 2:
			st.Enabled = f.varint != 0
		case 3:
			st.Revision = f.varint
		}
	}
	return st, nil
}
