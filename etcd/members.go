//etcdkit:needs Cluster.MemberAdd,Cluster.MemberRemove,Cluster.MemberUpdate,Cluster.MemberPromote,Cluster.MemberList

package etcd

import (
	"context"
	"strconv"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// Membership changes. Each one goes through raft and changes the quorum: add one member at a
// time, start it with the cluster it was added to, and wait until it is healthy before the
// next change. A learner (MemberAddLearner) receives the log without voting until promoted.

// MemberChange is the answer to a membership change: the cluster's members after it and the
// response header, whose ClusterID names the cluster changed.
type MemberChange struct {
	// Member is the member added (MemberAdd and MemberAddLearner only).
	Member  Member
	Members []Member // the cluster's members after the change
	Header  Header   // the response's header
}

// MemberAdd adds a voting member that will serve at peerURLs; start its etcd with
// --initial-cluster-state=existing and the returned members.
func (c *Client) MemberAdd(ctx context.Context, peerURLs []string) (MemberChange, error) {
	return c.memberAdd(ctx, peerURLs, false)
}

// MemberAddLearner adds a learner: a member that follows the log without voting until
// MemberPromote makes it a voting member.
func (c *Client) MemberAddLearner(ctx context.Context, peerURLs []string) (MemberChange, error) {
	return c.memberAdd(ctx, peerURLs, true)
}

func (c *Client) memberAdd(ctx context.Context, peerURLs []string, learner bool) (MemberChange, error) {
	if err := c.check("member add", ""); err != nil {
		return MemberChange{}, err
	}
	resp, err := etcdserverpb.NewClusterClient(c.conn).MemberAdd(ctx, &etcdserverpb.MemberAddRequest{PeerURLs: peerURLs, IsLearner: learner})
	if err != nil {
		return MemberChange{}, opError("member add", "", err)
	}
	return MemberChange{Member: member(resp.GetMember()), Members: members(resp.GetMembers()), Header: header(resp.GetHeader())}, nil
}

// MemberRemove removes the member with ID id from the cluster.
func (c *Client) MemberRemove(ctx context.Context, id uint64) (MemberChange, error) {
	return c.memberCall(ctx, "member remove", id, func(cc etcdserverpb.ClusterClient) (memberList, error) {
		return cc.MemberRemove(ctx, &etcdserverpb.MemberRemoveRequest{ID: id})
	})
}

// MemberUpdate changes the peer URLs of the member with ID id.
func (c *Client) MemberUpdate(ctx context.Context, id uint64, peerURLs []string) (MemberChange, error) {
	return c.memberCall(ctx, "member update", id, func(cc etcdserverpb.ClusterClient) (memberList, error) {
		return cc.MemberUpdate(ctx, &etcdserverpb.MemberUpdateRequest{ID: id, PeerURLs: peerURLs})
	})
}

// MemberPromote makes the learner with ID id a voting member. The leader refuses while the
// learner's log lags behind its own ("etcdserver: can only promote a learner member which
// is in sync with leader"): try again once it has caught up.
func (c *Client) MemberPromote(ctx context.Context, id uint64) (MemberChange, error) {
	return c.memberCall(ctx, "member promote", id, func(cc etcdserverpb.ClusterClient) (memberList, error) {
		return cc.MemberPromote(ctx, &etcdserverpb.MemberPromoteRequest{ID: id})
	})
}

// memberList is a membership change's response.
type memberList interface {
	GetHeader() *etcdserverpb.ResponseHeader
	GetMembers() []*etcdserverpb.Member
}

// memberCall makes one membership change of member id, named op in errors.
func (c *Client) memberCall(ctx context.Context, op string, id uint64, call func(etcdserverpb.ClusterClient) (memberList, error)) (MemberChange, error) {
	key := strconv.FormatUint(id, 16)
	if err := c.check(op, key); err != nil {
		return MemberChange{}, err
	}
	resp, err := call(etcdserverpb.NewClusterClient(c.conn))
	if err != nil {
		return MemberChange{}, opError(op, key, err)
	}
	return MemberChange{Members: members(resp.GetMembers()), Header: header(resp.GetHeader())}, nil
}
