package etcd

import (
	"context"
	"time"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// verifyTimeout bounds how long the cluster check may ask one endpoint for its status.
const verifyTimeout = time.Second

// A client's endpoints must all belong to one cluster: answers from two clusters would mix
// unrelated revisions. With several endpoints, the first call starts a check in the
// background that asks each of them for its cluster ID (in parallel, verifyTimeout each) and
// keeps in the balancer only the endpoints of the cluster most of them belong to, plus those
// that did not answer yet. Calls wait for that check within their own context. Every
// response's header is then checked against that cluster; a response from another one fails
// with ErrClusterMismatch and makes the client check its endpoints again.

// headered is every etcd response: they all carry a header with the cluster ID.
type headered interface {
	GetHeader() *etcdserverpb.ResponseHeader
}

// awaitCluster waits, within ctx, for the first check of a client with several endpoints,
// starting it on the first call.
func (c *Client) awaitCluster(ctx context.Context) error {
	if len(c.endpoints) < 2 {
		return nil
	}
	c.verifyOnce.Do(func() {
		if !c.goLoop(func() {
			defer close(c.verified)
			c.verifyEndpoints(c.life)
		}) {
			close(c.verified)
		}
	})
	select {
	case <-c.verified:
		return nil
	case <-ctx.Done():
		return ctx.Err()
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
// endpoints that answered for that cluster; the others are held out until they answer
// (endpoints.go). It stops waiting once more than half of the endpoints agree, so that a hung
// endpoint does not hold it up, and gives up when ctx ends.
func (c *Client) verifyEndpoints(ctx context.Context) {
	c.verifyMu.Lock()
	defer c.verifyMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	type answer struct {
		i  int
		id uint64
	}
	answers := make(chan answer, len(c.endpoints))
	for i, ep := range c.endpoints {
		go func() {
			id, member, _, err := c.memberStatus(ctx, ep)
			if err == nil {
				c.learnMember(member, ep)
			}
			answers <- answer{i, id}
		}()
	}
	ids := make([]uint64, len(c.endpoints))
	agree := make(map[uint64]int)
	for range c.endpoints {
		a := <-answers
		ids[a.i] = a.id
		if a.id == 0 {
			continue
		}
		if agree[a.id]++; agree[a.id] > len(c.endpoints)/2 {
			cancel() // the rest answer at once, with nothing
		}
	}

	var cluster uint64
	for _, id := range ids { // the most votes; a tie goes to the endpoint listed first
		if id != 0 && agree[id] > agree[cluster] {
			cluster = id
		}
	}
	if cluster == 0 {
		return // nobody answered: the responses' headers will tell
	}
	c.clusterID.Store(cluster)
	var foreign, silent []string
	for i, ep := range c.endpoints {
		switch ids[i] {
		case cluster:
		case 0:
			silent = append(silent, ep)
		default:
			foreign = append(foreign, ep)
			c.log.Warn("etcd: endpoint belongs to another cluster; not using it", "endpoint", ep,
				"cluster", ids[i], "want", cluster)
		}
	}
	c.settle(foreign, silent)
}
