package etcd

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// dialEndpoint opens a connection of its own to one endpoint, for the calls that ask one
// named member rather than the cluster (defragment, hash, snapshot, move leader). The
// endpoint need not be among the configured ones; it shares their TLS and auth settings.
// The caller closes the connection.
func (c *Client) dialEndpoint(op, endpoint string) (*grpc.ClientConn, error) {
	if err := c.check(op, endpoint); err != nil {
		return nil, err
	}
	ep, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, &Error{Op: op, Key: endpoint, Err: wrapArg(err.Error())}
	}
	r := manual.NewBuilderWithScheme("etcdkit-endpoint")
	r.InitialState(resolver.State{Addresses: addresses([]string{ep.addr}, nil)})
	conn, err := grpc.NewClient(r.Scheme()+":///"+ep.addr, append(c.dialOpt, grpc.WithResolvers(r))...)
	if err != nil {
		return nil, &Error{Op: op, Key: endpoint, Err: err}
	}
	return conn, nil
}
