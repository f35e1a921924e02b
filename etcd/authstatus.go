//etcdkit:needs Auth.AuthStatus

package etcd

import (
	"context"

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
func (c *Client) AuthStatus(ctx context.Context) (AuthState, error) {
	if err := c.check("auth status", ""); err != nil {
		return AuthState{}, err
	}
	resp, err := etcdserverpb.NewAuthClient(c.conn).AuthStatus(ctx, &etcdserverpb.AuthStatusRequest{})
	if err != nil {
		return AuthState{}, opError("auth status", "", err)
	}
	return AuthState{Enabled: resp.GetEnabled(), Revision: resp.GetAuthRevision(), Header: header(resp.GetHeader())}, nil
}
