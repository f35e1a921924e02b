package etcd

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

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

// MemberList lists the cluster's members. It is linearizable on etcd 3.5 and later; older
// servers answer from the member's local view.
func (c *Client) MemberList(ctx context.Context) ([]Member, Header, error) {
	if err := c.check("member list", ""); err != nil {
		return nil, Header{}, err
	}
	resp, err := c.cluster.MemberList(ctx, &etcdserverpb.MemberListRequest{Linearizable: true})
	if err != nil {
		return nil, Header{}, opError("member list", "", err)
	}
	members := make([]Member, len(resp.GetMembers()))
	for i, m := range resp.GetMembers() {
		members[i] = Member{
			ID:         m.GetID(),
			Name:       m.GetName(),
			PeerURLs:   m.GetPeerURLs(),
			ClientURLs: m.GetClientURLs(),
			IsLearner:  m.GetIsLearner(),
		}
	}
	return members, header(resp.GetHeader()), nil
}

// Status is one endpoint's view of itself and the cluster (python-etcd's leader).
type Status struct {
	Endpoint string
	// Version is the server's etcd version, e.g. "3.7.3".
	Version string
	// DBSize is the backend database's size in bytes; DBSizeInUse the part in use.
	DBSize      int64
	DBSizeInUse int64
	// Leader is the member ID of the leader as this member knows it; 0 when it has none.
	Leader uint64
	// RaftIndex, RaftTerm and RaftAppliedIndex are the member's raft progress.
	RaftIndex        uint64
	RaftTerm         uint64
	RaftAppliedIndex uint64
	IsLearner        bool
	// Errors are the alarms and errors the member reports.
	Errors []string
	Header Header
	Raw    *etcdserverpb.StatusResponse
}

// IsLeader reports whether the endpoint is the leader.
func (s Status) IsLeader() bool { return s.Leader != 0 && s.Leader == s.Header.MemberID }

// Endpoints returns the configured endpoints as "host:port".
func (c *Client) Endpoints() []string { return append([]string(nil), c.endpoints...) }

// Status asks one endpoint, which need not be among the configured ones but shares their
// TLS and auth settings, for its status. It answers even when the member has no leader.
func (c *Client) Status(ctx context.Context, endpoint string) (Status, error) {
	if err := c.check("endpoint status", endpoint); err != nil {
		return Status{}, err
	}
	ep, err := parseEndpoint(endpoint)
	if err != nil {
		return Status{}, &Error{Op: "endpoint status", Key: endpoint, Err: wrapArg(err.Error())}
	}
	r := manual.NewBuilderWithScheme("etcdkit-status")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: ep.addr}}})
	conn, err := grpc.NewClient(r.Scheme()+":///"+ep.addr, append(c.dialOpt, grpc.WithResolvers(r))...)
	if err != nil {
		return Status{}, &Error{Op: "endpoint status", Key: endpoint, Err: err}
	}
	defer conn.Close()
	resp, err := etcdserverpb.NewMaintenanceClient(conn).Status(ctx, &etcdserverpb.StatusRequest{})
	if err != nil {
		return Status{}, opError("endpoint status", endpoint, err)
	}
	return Status{
		Endpoint:         ep.addr,
		Version:          resp.GetVersion(),
		DBSize:           resp.GetDbSize(),
		DBSizeInUse:      resp.GetDbSizeInUse(),
		Leader:           resp.GetLeader(),
		RaftIndex:        resp.GetRaftIndex(),
		RaftTerm:         resp.GetRaftTerm(),
		RaftAppliedIndex: resp.GetRaftAppliedIndex(),
		IsLearner:        resp.GetIsLearner(),
		Errors:           resp.GetErrors(),
		Header:           header(resp.GetHeader()),
		Raw:              resp,
	}, nil
}

// Alarm is a raised cluster alarm: a member ran out of space (AlarmType "NOSPACE") or found
// its data corrupt ("CORRUPT").
type Alarm struct {
	MemberID uint64
	Type     string
}

// Alarms lists the cluster's raised alarms; none means healthy storage.
func (c *Client) Alarms(ctx context.Context) ([]Alarm, error) {
	if err := c.check("alarm list", ""); err != nil {
		return nil, err
	}
	resp, err := c.maint.Alarm(ctx, &etcdserverpb.AlarmRequest{Action: etcdserverpb.AlarmRequest_GET})
	if err != nil {
		return nil, opError("alarm list", "", err)
	}
	alarms := make([]Alarm, len(resp.GetAlarms()))
	for i, a := range resp.GetAlarms() {
		alarms[i] = Alarm{MemberID: a.GetMemberID(), Type: a.GetAlarm().String()}
	}
	return alarms, nil
}
