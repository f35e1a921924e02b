//etcdkit:needs Maintenance.Defragment,Maintenance.HashKV,Maintenance.MoveLeader,Maintenance.Alarm,Maintenance.Status,Cluster.MemberList

package etcd

import (
	"context"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// Defragment rewrites one member's backend database to give the space of deleted and
// compacted revisions back to the file system. The member blocks reads and writes while it
// works, which can take seconds on a large database: defragment members one at a time.
func (c *Client) Defragment(ctx context.Context, endpoint string) (Header, error) {
	conn, err := c.dialEndpoint("defragment", endpoint)
	if err != nil {
		return Header{}, err
	}
	defer conn.Close()
	resp, err := etcdserverpb.NewMaintenanceClient(conn).Defragment(ctx, &etcdserverpb.DefragmentRequest{})
	if err != nil {
		return Header{}, opError("defragment", endpoint, err)
	}
	return header(resp.GetHeader()), nil
}

// KVHash is a member's hash of its key-value history, for comparing members: at the same
// HashRevision and CompactRevision, members with the same data have the same Hash.
type KVHash struct {
	// Hash covers every revision from CompactRevision up to HashRevision.
	Hash uint32
	// CompactRevision is the member's compaction revision when it hashed.
	CompactRevision int64
	// HashRevision is the revision hashed up to (etcd 3.6 and later; 0 from older servers).
	HashRevision int64
	Header       Header // the response's header
}

// HashKV asks one member for the hash of its key-value history up to rev (0: its latest
// revision).
func (c *Client) HashKV(ctx context.Context, endpoint string, rev int64) (KVHash, error) {
	conn, err := c.dialEndpoint("hash kv", endpoint)
	if err != nil {
		return KVHash{}, err
	}
	defer conn.Close()
	resp, err := etcdserverpb.NewMaintenanceClient(conn).HashKV(ctx, &etcdserverpb.HashKVRequest{Revision: rev})
	if err != nil {
		return KVHash{}, opError("hash kv", endpoint, err)
	}
	return KVHash{
		Hash:            resp.GetHash(),
		CompactRevision: resp.GetCompactRevision(),
		// 3.6's field, read by name: stubs of older releases lack it.
		HashRevision: getInt(resp, "hash_revision"),
		Header:       header(resp.GetHeader()),
	}, nil
}

// MoveLeader asks the leader, which endpoint must be, to hand its leadership to the member
// with ID transferee, and returns once the transfer is done. Another endpoint answers with
// an error ("etcdserver: not leader").
func (c *Client) MoveLeader(ctx context.Context, endpoint string, transferee uint64) (Header, error) {
	conn, err := c.dialEndpoint("move leader", endpoint)
	if err != nil {
		return Header{}, err
	}
	defer conn.Close()
	resp, err := etcdserverpb.NewMaintenanceClient(conn).MoveLeader(ctx, &etcdserverpb.MoveLeaderRequest{TargetID: transferee})
	if err != nil {
		return Header{}, opError("move leader", endpoint, err)
	}
	return header(resp.GetHeader()), nil
}

// AlarmDisarm clears every raised alarm and returns the alarms it cleared. A member that
// ran out of space raises its NOSPACE alarm again on its next write beyond its quota: free
// space first (compact, then defragment). The header is the last answer's.
func (c *Client) AlarmDisarm(ctx context.Context) ([]Alarm, Header, error) {
	raised, h, err := c.AlarmList(ctx)
	if err != nil {
		return nil, Header{}, renameOp("alarm disarm", "", err)
	}
	mc := etcdserverpb.NewMaintenanceClient(c.conn)
	var cleared []Alarm
	for _, a := range raised {
		req := &etcdserverpb.AlarmRequest{
			Action:   etcdserverpb.AlarmRequest_DEACTIVATE,
			MemberID: a.MemberID,
			Alarm:    etcdserverpb.AlarmType(etcdserverpb.AlarmType_value[a.Type]),
		}
		resp, err := mc.Alarm(ctx, req)
		if err != nil {
			return cleared, h, opError("alarm disarm", "", err)
		}
		h = header(resp.GetHeader())
		for _, m := range resp.GetAlarms() {
			cleared = append(cleared, Alarm{MemberID: m.GetMemberID(), Type: m.GetAlarm().String()})
		}
	}
	return cleared, h, nil
}
