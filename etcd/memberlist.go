//etcdkit:needs Cluster.MemberList

package etcd

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// Member is one member of the cluster (python-etcd's machines).
type Member struct {
	ID         uint64   // the member's ID, as MemberRemove, MemberUpdate and MemberPromote take it
	Name       string   // its --name; empty until a member added by MemberAdd has started
	PeerURLs   []string // the URLs its peers reach it at
	ClientURLs []string // the URLs clients reach it at; empty until it has started
	IsLearner  bool     // a learner receives the log but does not vote
}

// MemberList lists the cluster's members. It is linearizable on etcd 3.5 and later (older
// servers answer from the member's local view). With Serializable the member answers from its
// local view on every release, without consulting the leader: possibly stale, but available
// without a quorum. It takes ReadOption so that Serializable reads the same everywhere; any
// other read option is ErrInvalidArgument.
func (c *Client) MemberList(ctx context.Context, opts ...ReadOption) ([]Member, Header, error) {
	if err := c.check("member list", ""); err != nil {
		return nil, Header{}, err
	}
	serial, ok := serializable(opts)
	if !ok {
		return nil, Header{}, &Error{Op: "member list", Err: wrapArg("member list takes no read option but Serializable")}
	}
	req := &etcdserverpb.MemberListRequest{}
	if !serial {
		// linearizable is 3.5's: stubs of older releases lack it, and their servers ignore it.
		setBool(req, "linearizable", true)
	}
	resp, err := etcdserverpb.NewClusterClient(c.conn).MemberList(ctx, req)
	if err != nil {
		return nil, Header{}, opError("member list", "", err)
	}
	return members(resp.GetMembers()), header(resp.GetHeader()), nil
}

// serializable reports whether read options ask for a serializable read, and whether they
// ask for nothing else.
func serializable(opts []ReadOption) (serial, only bool) {
	var r etcdserverpb.RangeRequest
	for _, o := range opts {
		o.applyRange(&r)
	}
	serial = r.GetSerializable()
	r.Serializable = false
	return serial, proto.Equal(&r, &etcdserverpb.RangeRequest{})
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
