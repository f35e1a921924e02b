package etcd

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc/resolver"
)

// The balancer uses every configured endpoint except those known to belong to another
// cluster and those held out: endpoints that did not answer the cluster check (clusterid.go)
// and endpoints whose member stopped answering on a stream (a frozen member: its connection
// stays open, so gRPC would keep sending to it). A held endpoint is asked for its status
// every second and comes back once it answers for the client's cluster (or is found
// foreign). When every endpoint is excluded, the held ones stay in use: a slow cluster beats
// none.

// memberStatus asks one endpoint, on a connection of its own, which cluster and member serve
// it and which etcd version it runs. Maintenance.Status is called by method path with its
// response decoded here (header = 1 holding cluster_id = 1 and member_id = 2; version = 2), so
// that every copy of the kit checks its endpoints whatever its stubs keep.
func (c *Client) memberStatus(ctx context.Context, endpoint string) (clusterID, memberID uint64, version string, err error) {
	conn, err := c.dialEndpoint("endpoint status", endpoint)
	if err != nil {
		return 0, 0, "", err
	}
	defer conn.Close()
	resp, err := invokeRaw(ctx, conn, "/etcdserverpb.Maintenance/Status", nil)
	if err != nil {
		return 0, 0, "", err
	}
	fields, err := rawFields(resp)
	if err != nil {
		return 0, 0, "", err
	}
	for _, f := range fields {
		switch f.num {
		case 1:
			hdr, err := rawFields(f.bytes)
			if err != nil {
				return 0, 0, "", err
			}
			for _, h := range hdr {
				switch h.num {
				case 1:
					clusterID = h.varint
				case 2:
					memberID = h.varint
				}
			}
		case 2:
			version = string(f.bytes)
		}
	}
	return clusterID, memberID, version, nil
}

// addresses are the balancer's addresses for endpoints ("host:port", or "unix://path",
// which gRPC dials as a unix socket). Each one carries its own host as its TLS server name,
// so that every endpoint is verified against its own name (Config.TLS.ServerName, when set,
// still overrides it); a socket's is the host in a "host:port" file name, as etcd names its
// sockets, or else localhost.
func addresses(endpoints []string) []resolver.Address {
	addrs := make([]resolver.Address, len(endpoints))
	for i, ep := range endpoints {
		host, _, _ := net.SplitHostPort(ep)
		if path, unix := strings.CutPrefix(ep, unixPrefix); unix {
			var err error
			if host, _, err = net.SplitHostPort(filepath.Base(path)); err != nil || host == "" {
				host = "localhost"
			}
		}
		addrs[i] = resolver.Address{Addr: ep, ServerName: host}
	}
	return addrs
}

// publish gives the balancer the endpoints in use. The caller holds addrMu.
func (c *Client) publish() {
	var use, held []string
	for _, ep := range c.endpoints {
		switch {
		case c.foreignEP[ep]:
		case c.heldEP[ep]:
			held = append(held, ep)
		default:
			use = append(use, ep)
		}
	}
	if len(use) == 0 {
		use = held
	}
	c.resolver.UpdateState(resolver.State{Addresses: addresses(use)})
}

// settle records the outcome of a cluster check: the endpoints found to belong to another
// cluster, and those that did not answer, which are held out until they do.
func (c *Client) settle(foreign, silent []string) {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
	c.foreignEP = make(map[string]bool)
	for _, ep := range foreign {
		c.foreignEP[ep] = true
	}
	for _, ep := range silent {
		c.hold(ep)
	}
	c.publish()
}

// learnMember records that endpoint ep is served by member id.
func (c *Client) learnMember(id uint64, ep string) {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
	c.memberEP[id] = ep
}

// thawInterval is how often a held endpoint is asked whether it answers again.
const thawInterval = time.Second

// frozen holds out the endpoint of member id, when it is known, until it answers again.
func (c *Client) frozen(id uint64) {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
	if ep, ok := c.memberEP[id]; ok && !c.heldEP[ep] {
		c.log.Warn("etcd: member stopped answering; not using it until it answers", "endpoint", ep)
		c.hold(ep)
		c.publish()
	}
}

// hold takes ep out of use and starts asking it for its status. The caller holds addrMu and
// publishes.
func (c *Client) hold(ep string) {
	if c.heldEP[ep] {
		return
	}
	c.heldEP[ep] = true
	if !c.goLoop(func() { c.thaw(ep) }) {
		delete(c.heldEP, ep)
	}
}

// thaw asks a held endpoint for its status at once and then every thawInterval until it
// answers, then puts it back in use, or leaves it out for good when it answers for another
// cluster.
func (c *Client) thaw(ep string) {
	t := time.NewTicker(thawInterval)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-c.closing:
				return
			case <-t.C:
			}
		}
		ctx, cancel := context.WithTimeout(c.life, thawInterval)
		cluster, member, _, err := c.memberStatus(ctx, ep)
		cancel()
		if err != nil {
			continue
		}
		c.addrMu.Lock()
		delete(c.heldEP, ep)
		c.memberEP[member] = ep
		if want := c.clusterID.Load(); want != 0 && cluster != want {
			c.foreignEP[ep] = true
			c.log.Warn("etcd: endpoint belongs to another cluster; not using it", "endpoint", ep, "cluster", cluster, "want", want)
		} else {
			c.log.Info("etcd: endpoint answers; using it", "endpoint", ep)
		}
		c.publish()
		c.addrMu.Unlock()
		return
	}
}
