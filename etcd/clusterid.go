package etcd

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/resolver"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// verifyTimeout bounds how long the cluster check may ask one endpoint for its status.
const verifyTimeout = time.Second

// A client's endpoints must all belong to one cluster: answers from two clusters would mix
// unrelated revisions. With several endpoints, the first call asks each of them for its
// cluster ID (in parallel, verifyTimeout each) and keeps in the balancer only the endpoints of
// the cluster most of them belong to, plus those that did not answer yet. Every response's
// header is then checked against that cluster; a response from another one makes the client
// check its endpoints again.

// headered is every etcd response: they all carry a header with the cluster ID.
type headered interface {
	GetHeader() *etcdserverpb.ResponseHeader
}

// checkCluster runs the first check, once, before the first call of a client with several
// endpoints.
func (c *Client) checkCluster() {
	if len(c.endpoints) > 1 {
		c.verifyOnce.Do(c.verifyEndpoints)
	}
}

// foreign reports whether reply came from another cluster than the client's.
func (c *Client) foreign(reply any) bool {
	h, ok := reply.(headered)
	if !ok {
		return false
	}
	id := h.GetHeader().GetClusterId()
	want := c.clusterID.Load()
	if want == 0 && id != 0 {
		c.clusterID.CompareAndSwap(0, id)
		return false
	}
	return id != 0 && id != want
}

// verifyEndpoints asks every configured endpoint for its cluster ID, settles the client's
// cluster by majority (ties go to the endpoint listed first), and gives the balancer only the
// endpoints of that cluster and those that did not answer.
func (c *Client) verifyEndpoints() {
	c.verifyMu.Lock()
	defer c.verifyMu.Unlock()
	ids := make([]uint64, len(c.endpoints))
	var wg sync.WaitGroup
	for i, ep := range c.endpoints {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), verifyTimeout)
			defer cancel()
			if st, err := c.Status(ctx, ep); err == nil {
				ids[i] = st.Header.ClusterID
			}
		}()
	}
	wg.Wait()

	votes := make(map[uint64]int)
	var cluster uint64
	for _, id := range ids {
		if id == 0 {
			continue
		}
		votes[id]++
		if cluster == 0 || votes[id] > votes[cluster] {
			cluster = id
		}
	}
	if cluster == 0 {
		return // nobody answered: the responses' headers will tell
	}
	c.clusterID.Store(cluster)
	var keep []resolver.Address
	for i, ep := range c.endpoints {
		if ids[i] == 0 || ids[i] == cluster {
			keep = append(keep, resolver.Address{Addr: ep})
		} else {
			c.log.Warn("etcd: endpoint belongs to another cluster; not using it", "endpoint", ep,
				"cluster", ids[i], "want", cluster)
		}
	}
	c.resolver.UpdateState(resolver.State{Addresses: keep})
}
