//etcdkit:needs Cluster.MemberList,Maintenance.Status,Maintenance.Alarm

package etcd

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

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

// serializable reports whether read options ask for a serializable read.
func serializable(opts []ReadOption) bool {
	var r etcdserverpb.RangeRequest
	for _, o := range opts {
		o.applyRange(&r)
	}
	return r.GetSerializable()
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
	// StorageVersion is the version of the member's data files (etcd 3.6 and later, which
	// fill it in a few seconds after starting); empty before.
	StorageVersion string
	// DBSizeQuota is the backend's quota in bytes, --quota-backend-bytes (etcd 3.6 and
	// later); 0 before.
	DBSizeQuota int64
	// Downgrade is the cluster's downgrade state as the member reports it (etcd 3.6 and
	// later); nil from older servers.
	Downgrade *Downgrade
	Header    Header
}

// Downgrade is a cluster's downgrade state: whether a downgrade is under way, and to which
// version.
type Downgrade struct {
	Enabled       bool
	TargetVersion string
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
	st := Status{
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
	}
	// 3.6's fields, read by name: stubs of older releases lack them.
	st.StorageVersion = getString(resp, "storageVersion")
	st.DBSizeQuota = getInt(resp, "dbSizeQuota")
	if d := getMessage(resp, "downgradeInfo"); d != nil {
		st.Downgrade = &Downgrade{Enabled: getBool(d, "enabled"), TargetVersion: getString(d, "targetVersion")}
	}
	return st, nil
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
	resp, err := etcdserverpb.NewMaintenanceClient(c.conn).Alarm(ctx, &etcdserverpb.AlarmRequest{Action: etcdserverpb.AlarmRequest_GET})
	if err != nil {
		return nil, opError("alarm list", "", err)
	}
	alarms := make([]Alarm, len(resp.GetAlarms()))
	for i, a := range resp.GetAlarms() {
		alarms[i] = Alarm{MemberID: a.GetMemberID(), Type: a.GetAlarm().String()}
	}
	return alarms, nil
}

// Fields that only newer releases define are reached by name through protobuf reflection, so
// that the package compiles over the stubs of any release; over stubs that lack a field, a
// getter returns the zero value and a setter does nothing. Field numbers and types never
// change between releases, so a field found has the expected kind.

// fieldOf finds the field called name of kind k in m, or nil.
func fieldOf(m protoreflect.Message, name protoreflect.Name, k protoreflect.Kind) protoreflect.FieldDescriptor {
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != k || fd.IsList() || fd.IsMap() {
		return nil
	}
	return fd
}

// setBool sets the bool field called name, when m's stubs have it.
func setBool(m proto.Message, name protoreflect.Name, v bool) {
	r := m.ProtoReflect()
	if fd := fieldOf(r, name, protoreflect.BoolKind); fd != nil {
		r.Set(fd, protoreflect.ValueOfBool(v))
	}
}

// getBool reads the bool field called name; false when m's stubs lack it.
func getBool(m proto.Message, name protoreflect.Name) bool {
	r := m.ProtoReflect()
	if fd := fieldOf(r, name, protoreflect.BoolKind); fd != nil {
		return r.Get(fd).Bool()
	}
	return false
}

// getString reads the string field called name; empty when m's stubs lack it.
func getString(m proto.Message, name protoreflect.Name) string {
	r := m.ProtoReflect()
	if fd := fieldOf(r, name, protoreflect.StringKind); fd != nil {
		return r.Get(fd).String()
	}
	return ""
}

// getInt reads the int64 field called name; 0 when m's stubs lack it.
func getInt(m proto.Message, name protoreflect.Name) int64 {
	r := m.ProtoReflect()
	if fd := fieldOf(r, name, protoreflect.Int64Kind); fd != nil {
		return r.Get(fd).Int()
	}
	return 0
}

// getMessage reads the message field called name; nil when m's stubs lack it or the server
// did not send it.
func getMessage(m proto.Message, name protoreflect.Name) proto.Message {
	r := m.ProtoReflect()
	if fd := fieldOf(r, name, protoreflect.MessageKind); fd != nil && r.Has(fd) {
		return r.Get(fd).Message().Interface()
	}
	return nil
}
