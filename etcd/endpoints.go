package etcd

import (
	"context"
	"net"
	"time"

	"google.golang.org/grpc/resolver"
)

// The balancer uses every configured endpoint except those known to belong to another
// cluster (clusterid.go) and those whose member stopped answering on a stream (a frozen
// member: its connection stays open, so gRPC would keep sending to it). A frozen endpoint
// comes back once it answers a status request again. When every endpoint is excluded, the
// frozen ones stay in use: a slow cluster beats none.

// memberStatus asks one endpoint which cluster and member serve it and which etcd version
// it runs. It is set by status.go, which a copy of the kit has only when its stubs keep
// Maintenance.Status; without it the client skips what needs it: the first cluster check,
// leaving frozen members out, and RequestProgress (ErrNotSupported).
var memberStatus func(ctx context.Context, c *Client, endpoint string) (clusterID, memberID uint64, version string, err error)

// addresses are the balancer's addresses for endpoints ("host:port"). Each one carries its
// own host as its TLS server name, so that every endpoint is verified against its own name
// (Config.TLS.ServerName, when set, still overrides it).
func addresses(endpoints []string) []resolver.Address {
	addrs := make([]resolver.Address, len(endpoints))
	for i, ep := range endpoints {
		host, _, _ := net.SplitHostPort(ep)
		addrs[i] = resolver.Address{Addr: ep, ServerName: host}
	}
	return addrs
}

// publish gives the balancer the endpoints in use. The caller holds addrMu.
func (c *Client) publish() {
	var use, frozen []string
	for _, ep := range c.endpoints {
		switch {
		case c.foreignEP[ep]:
		case c.frozenEP[ep]:
			frozen = append(frozen, ep)
		default:
			use = append(use, ep)
		}
	}
	if len(use) == 0 {
		use = frozen
	}
	c.resolver.UpdateState(resolver.State{Addresses: addresses(use)})
}

// setForeign records the endpoints found to belong to another cluster.
func (c *Client) setForeign(foreign map[string]bool) {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
	c.foreignEP = foreign
	c.publish()
}

// learnMember records that endpoint ep is served by member id.
func (c *Client) learnMember(id uint64, ep string) {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
	c.memberEP[id] = ep
}

// thawInterval is how often a frozen endpoint is asked whether it answers again.
const thawInterval = time.Second

// frozen takes the endpoint of member id out of use, when it is known and another endpoint
// remains, until it answers again.
func (c *Client) frozen(id uint64) {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
	ep, ok := c.memberEP[id]
	if !ok || c.frozenEP[ep] {
		return
	}
	c.log.Warn("etcd: member stopped answering; not using it until it answers", "endpoint", ep)
	c.frozenEP[ep] = true
	c.publish()
	if !c.goLoop(func() { c.thaw(ep) }) {
		delete(c.frozenEP, ep)
	}
}

// thaw asks a frozen endpoint for its status every thawInterval until it answers, then puts
// it back in use.
func (c *Client) thaw(ep string) {
	t := time.NewTicker(thawInterval)
	defer t.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.life, thawInterval)
		_, _, _, err := memberStatus(ctx, c, ep)
		cancel()
		if err == nil {
			c.addrMu.Lock()
			delete(c.frozenEP, ep)
			c.publish()
			c.addrMu.Unlock()
			c.log.Info("etcd: member answers again", "endpoint", ep)
			return
		}
	}
}
