//etcdkit:needs Cluster.MemberList

package etcd

import (
	"context"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// Member is one member of the cluster (python-etcd's machines).
type Member struct {
	ID         uint64
	Name       string
	PeerURLs   []string
	ClientURLs []string
	IsLearner  bool
}

// MemberList lists the cluster's members. It is linearizable on etcd 3.5 and later (older
// servers answer from the member's local view). With Serializable the member answers from its
// local view on every release, without consulting the leader: possibly stale, but available
// without a quorum. Other read options have no effect on it.
func (c *Client) MemberList(ctx context.Context, opts ...ReadOption) ([]Member, Header, error) {
	if err := c.check("member list", ""); err != nil {
		return nil, Header{}, err
	}
	req := &etcdserverpb.MemberListRequest{}
	if !serializable(opts) {
		// linearizable is 3.5's: stubs of older releases lack it, and their servers ignore it.
		setBool(req, "linearizable", true)
	}
	resp, err := etcdserverpb.NewClusterClient(c.conn).MemberList(ctx, req)
	if err != nil {
		return nil, Header{}, opError("member list", "", err)
	}
	return members(resp.GetMembers()), header(resp.GetHeader()), nil
}

// serializable reports whether read options ask for a serializable read.
func serializable(opts []ReadOption) bool {
	var r etcdserverpb.RangeRequest
	for _, o := range opts {
		o.applyRange(&r)
	}
	return r.GetSerializable()
}

// members converts the wire's members.
func members(ms []*etcdserverpb.Member) []Member {
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = member(m)
	}
	return out
}

// member converts one wire member.
func member(m *etcdserverpb.Member) Member {
	return Member{ID: m.GetID(), Name: m.GetName(), PeerURLs: m.GetPeerURLs(), ClientURLs: m.GetClientURLs(), IsLearner: m.GetIsLearner()}
}
