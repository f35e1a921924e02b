//etcdkit:needs Maintenance.Status

package etcd

import (
	"context"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// Status is one endpoint's view of itself and the cluster (python-etcd's leader).
type Status struct {
	Endpoint string // the endpoint asked
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
	IsLearner        bool // the member is a learner
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
	Header    Header // the response's header
}

// Downgrade is a cluster's downgrade state: whether a downgrade is under way, and to which
// version.
type Downgrade struct {
	Enabled       bool   // a downgrade is in progress
	TargetVersion string // the version it goes to ("3.6.0")
}

// IsLeader reports whether the endpoint is the leader.
func (s Status) IsLeader() bool { return s.Leader != 0 && s.Leader == s.Header.MemberID }

// Status asks one endpoint, which need not be among the configured ones but shares their
// TLS and auth settings, for its status. It answers even when the member has no leader.
func (c *Client) Status(ctx context.Context, endpoint string) (Status, error) {
	conn, err := c.dialEndpoint("endpoint status", endpoint)
	if err != nil {
		return Status{}, err
	}
	defer conn.Close()
	ep, _ := parseEndpoint(endpoint) // valid: dialEndpoint checked it
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
