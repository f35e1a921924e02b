//etcdkit:needs Maintenance.Defragment,Maintenance.HashKV,Maintenance.MoveLeader,Maintenance.Alarm,Maintenance.Status,Cluster.MemberList

package etcd

import (
	"errors"
	"fmt"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// TestMaintenance runs the operator's calls on one three-member cluster: every member
// defragments and hashes alike, leadership moves to a follower (and only the leader may move
// it), and a raised alarm is disarmed.
func TestMaintenance(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	for i := range 20 {
		mustPut(t, c, fmt.Sprintf("m/%d", i), "v")
	}
	rev := mustPut(t, c, "m/last", "v")
	if _, err := c.Compact(ctx, rev-5); err != nil {
		t.Fatal(err)
	}

	t.Run("defragment and hash", func(t *testing.T) {
		var hashes []KVHash
		for _, ep := range cl.Endpoints() {
			if _, err := c.Defragment(ctx, ep); err != nil {
				t.Fatalf("Defragment %s: %v", ep, err)
			}
			h, err := c.HashKV(ctx, ep, rev)
			if err != nil {
				t.Fatalf("HashKV %s: %v", ep, err)
			}
			hashes = append(hashes, h)
		}
		wantRev := rev
		if !versionAtLeast(cl.Version, 3, 6, 0) || !hasField(&etcdserverpb.HashKVResponse{}, "hash_revision") {
			wantRev = 0 // hash_revision is 3.6's: older servers do not send it, older stubs lack it
		}
		for i, h := range hashes {
			if h.Hash == 0 || h.Hash != hashes[0].Hash || h.HashRevision != wantRev || h.CompactRevision != rev-5 {
				t.Errorf("member %d: %+v; want the hash of member 0 (%d) at revision %d, compacted at %d", i, h, hashes[0].Hash, wantRev, rev-5)
			}
		}
		if _, err := c.HashKV(ctx, cl.Endpoints()[0], rev+100); !errors.Is(err, ErrFutureRevision) {
			t.Errorf("HashKV past the store's revision = %v, want ErrFutureRevision", err)
		}
		if _, err := c.Defragment(ctx, "bad endpoint"); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Defragment of a malformed endpoint = %v, want ErrInvalidArgument", err)
		}
	})

	t.Run("move leader", func(t *testing.T) {
		leader, err := cl.Leader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var follower string
		var followerID uint64
		for _, ep := range cl.Endpoints() {
			if ep == leader.Endpoint() {
				continue
			}
			st, err := c.Status(ctx, ep)
			if err != nil {
				t.Fatal(err)
			}
			follower, followerID = ep, st.Header.MemberID
		}
		if _, err := c.MoveLeader(ctx, follower, followerID); err == nil {
			t.Fatal("MoveLeader sent to a follower succeeded")
		}
		if _, err := c.MoveLeader(ctx, leader.Endpoint(), followerID); err != nil {
			t.Fatalf("MoveLeader: %v", err)
		}
		st, err := c.Status(ctx, follower)
		if err != nil || st.Leader != followerID {
			t.Fatalf("after MoveLeader the follower reports leader %x (%v), want itself, %x", st.Leader, err, followerID)
		}
	})

	t.Run("disarm", func(t *testing.T) {
		members, _, err := c.MemberList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Raise the alarm directly: filling a quota takes seconds.
		_, err = etcdserverpb.NewMaintenanceClient(c.Conn()).Alarm(ctx, &etcdserverpb.AlarmRequest{
			Action: etcdserverpb.AlarmRequest_ACTIVATE, MemberID: members[0].ID, Alarm: etcdserverpb.AlarmType_NOSPACE,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Put(ctx, "m/full", "v"); !errors.Is(err, ErrNoSpace) {
			t.Fatalf("Put with NOSPACE raised = %v, want ErrNoSpace", err)
		}
		cleared, _, err := c.AlarmDisarm(ctx)
		if err != nil || len(cleared) != 1 || cleared[0] != (Alarm{MemberID: members[0].ID, Type: "NOSPACE"}) {
			t.Fatalf("AlarmDisarm = %+v, %v; want the NOSPACE alarm of %x", cleared, err, members[0].ID)
		}
		if alarms, _, err := c.AlarmList(ctx); err != nil || len(alarms) != 0 {
			t.Fatalf("Alarms after disarming = %+v, %v", alarms, err)
		}
		mustPut(t, c, "m/full", "v")
		if cleared, _, err := c.AlarmDisarm(ctx); err != nil || len(cleared) != 0 {
			t.Fatalf("AlarmDisarm with none raised = %+v, %v", cleared, err)
		}
	})
}
