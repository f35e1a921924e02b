//etcdkit:needs Auth.Authenticate

package etcd

import (
	"context"

	"google.golang.org/grpc"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// This file gives the client username/password authentication; copies of the kit whose stubs
// leave out Auth.Authenticate do without it (see login in auth.go).
func init() {
	login = func(ctx context.Context, conn grpc.ClientConnInterface, user, password string) (string, error) {
		resp, err := etcdserverpb.NewAuthClient(conn).Authenticate(ctx, &etcdserverpb.AuthenticateRequest{Name: user, Password: password})
		return resp.GetToken(), err
	}
}
