package etcd

import (
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// A client's endpoints must all belong to one cluster: answers from two clusters would mix
// unrelated revisions. With several endpoints, the health tracker settles the cluster from
// the endpoints' first answers and never uses an endpoint of another (health.go); calls wait
// for that within their own context, in the picker. Every response's header is then checked
// against that cluster; a response from another one fails with ErrClusterMismatch and makes
// the client ask that endpoint again which cluster it serves.

// headered is every etcd response: they all carry a header with the cluster ID.
type headered interface {
	GetHeader() *etcdserverpb.ResponseHeader
}

// foreign reports whether reply came from another cluster than the client's. A client with
// one endpoint takes its cluster, and its member, from the first reply; with several, the
// health tracker settles it.
func (c *Client) foreign(reply any) bool {
	h, ok := reply.(headered)
	if !ok {
		return false
	}
	id := h.GetHeader().GetClusterId()
	want := c.clusterID.Load()
	if want == 0 && c.health != nil {
		return false
	}
	if want == 0 && id != 0 {
		c.clusterID.CompareAndSwap(0, id)
		if c.health == nil {
			c.soleMember.Store(h.GetHeader().GetMemberId())
		}
		return false
	}
	return id != 0 && id != want
}
