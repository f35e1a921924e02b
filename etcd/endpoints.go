package etcd

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/resolver"
)

// verifyTimeout bounds how long a check of every endpoint (the watch's progress support) may
// ask one endpoint for its status.
const verifyTimeout = time.Second

// memberStatus asks one endpoint, on a connection of its own, which cluster and member serve
// it and which etcd version it runs (see statusOf).
func (c *Client) memberStatus(ctx context.Context, endpoint string) (clusterID, memberID uint64, version string, err error) {
	conn, err := c.dialEndpoint("endpoint status", endpoint)
	if err != nil {
		return 0, 0, "", err
	}
	defer conn.Close()
	return statusOf(ctx, conn)
}

// addresses are the balancer's addresses for endpoints ("host:port", or "unix://path",
// which gRPC dials as a unix socket), carrying h, the client's health tracker, when not nil.
// Each one carries its own host as its TLS server name, so that every endpoint is verified
// against its own name (Config.TLS.ServerName, when set, still overrides it); a socket's is
// the host in a "host:port" file name, as etcd names its sockets, or else localhost.
func addresses(endpoints []string, h *health) []resolver.Address {
	addrs := make([]resolver.Address, len(endpoints))
	var attrs *attributes.Attributes
	if h != nil {
		attrs = withHealth(nil, h)
	}
	for i, ep := range endpoints {
		host, _, _ := net.SplitHostPort(ep)
		if path, unix := strings.CutPrefix(ep, unixPrefix); unix {
			var err error
			if host, _, err = net.SplitHostPort(filepath.Base(path)); err != nil || host == "" {
				host = "localhost"
			}
		}
		addrs[i] = resolver.Address{Addr: ep, ServerName: host, Attributes: attrs}
	}
	return addrs
}

// setAddresses gives the balancer the endpoints to connect to.
func (c *Client) setAddresses(endpoints []string) {
	c.resolver.UpdateState(resolver.State{Addresses: addresses(endpoints, c.health)})
}

// frozen holds out the endpoint of member id, when it is known, until it answers again: a
// stream found the member silent.
func (c *Client) frozen(id uint64) {
	if c.health != nil && id != 0 {
		c.health.silent(id)
	}
}

// leaves reports whether a stream on member id should move: the member's endpoint is out of
// the rotation while another is in use. Streams' loops ask it at each pass, so that a
// stream leaves a member the health probe found sick (cut off from its peers, it would
// still answer the stream's own probe) without waiting for the stream to fall silent.
func (c *Client) leaves(id uint64) bool {
	return c.health != nil && id != 0 && c.health.view.Load().out[id]
}

// rotationMoved returns a channel closed at the next change of the endpoints' states, when
// a stream's loop must ask leaves again; with one endpoint, a channel that is never closed.
func (c *Client) rotationMoved() <-chan struct{} {
	if c.health == nil {
		return nil
	}
	return c.health.view.Load().replaced
}

// EndpointStates lists the client's endpoints (the configured ones, and with a member list
// followed, those of members added since, less those of members removed) with whether calls
// go to each and why not. A client with one endpoint reports it in use.
func (c *Client) EndpointStates() []EndpointState {
	if c.health == nil {
		return []EndpointState{{Endpoint: c.endpoints[0], MemberID: c.soleMember.Load(), InUse: true}}
	}
	return c.health.states()
}
