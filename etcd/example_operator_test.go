//etcdkit:needs Cluster,Maintenance

package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/etcdkit/etcdkit/etcd"
)

// Status, the member list and the alarms of a one-member cluster.
func ExampleClient_Status() {
	c := connect()
	defer c.Close()
	ctx := context.Background()
	ep := c.Endpoints()[0]

	st, err := c.Status(ctx, ep)
	if err != nil {
		log.Fatal(err)
	}
	members, h, err := c.MemberList(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("leader:", st.IsLeader(), "members:", len(members), "same cluster:", h.ClusterID == st.Header.ClusterID)
	_, _, err = c.MemberList(ctx, etcd.Limit(1))
	fmt.Println("MemberList takes only Serializable:", errors.Is(err, etcd.ErrInvalidArgument))
	alarms, _, err := c.AlarmList(ctx)
	if err != nil {
		log.Fatal(err)
	}
	cleared, _, err := c.AlarmDisarm(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alarms:", len(alarms), "cleared:", len(cleared))
	// Output:
	// leader: true members: 1 same cluster: true
	// MemberList takes only Serializable: true
	// alarms: 0 cleared: 0
}

// Membership changes: a learner is added, its peer URL changed, and removed. (A voting member
// is added the same way with MemberAdd, before it starts; here it would cost the one-member
// cluster its quorum, so the example adds one at a peer URL already taken, which is refused.)
func ExampleClient_MemberAddLearner() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	added, err := c.MemberAddLearner(ctx, []string{"http://127.0.0.1:1"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("learner:", added.Member.IsLearner, "members:", len(added.Members))
	if _, err := c.MemberUpdate(ctx, added.Member.ID, []string{"http://127.0.0.1:2"}); err != nil {
		log.Fatal(err)
	}
	_, err = c.MemberPromote(ctx, added.Member.ID)
	fmt.Println("promote a learner that never started:", err != nil)
	removed, err := c.MemberRemove(ctx, added.Member.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("members after remove:", len(removed.Members))
	_, err = c.MemberAdd(ctx, removed.Members[0].PeerURLs)
	fmt.Println("peer URL taken:", errors.Is(err, etcd.ErrMemberExists))
	// Output:
	// learner: true members: 2
	// promote a learner that never started: true
	// members after remove: 1
	// peer URL taken: true
}

// Maintenance of one member: defragment, hash, snapshot; moving the leadership needs a
// member to move it to.
func ExampleClient_Defragment() {
	c := connect()
	defer c.Close()
	ctx := context.Background()
	ep := c.Endpoints()[0]

	if _, err := c.Defragment(ctx, ep); err != nil {
		log.Fatal(err)
	}
	h1, err := c.HashKV(ctx, ep, 0)
	if err != nil {
		log.Fatal(err)
	}
	h2, err := c.HashKV(ctx, ep, h1.Header.Revision)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same hash at the same revision:", h1.Hash == h2.Hash)

	info, err := c.Snapshot(ctx, ep, io.Discard)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "snap")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	saved, err := c.SaveSnapshot(ctx, ep, filepath.Join(dir, "db"))
	if err != nil {
		log.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "db"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("snapshot sizes agree:", info.Size > 0 && saved.Size == fi.Size())

	_, err = c.MoveLeader(ctx, ep, 1)
	fmt.Println("no member 1 to move to:", err != nil)
	// Output:
	// same hash at the same revision: true
	// snapshot sizes agree: true
	// no member 1 to move to: true
}

// Downgrades: a target that is not the previous minor version is refused. Cancelling when no
// downgrade is in progress succeeds on etcd 3.7.3, is refused by 3.5.35 ("no inflight
// downgrade job"), and 3.4 has no downgrades.
func ExampleClient_DowngradeValidate() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	_, err := c.DowngradeValidate(ctx, "x")
	fmt.Println("bad version refused:", errors.Is(err, etcd.ErrInvalidArgument) || errors.Is(err, etcd.ErrNotSupported))
	_, err = c.DowngradeEnable(ctx, "")
	fmt.Println("empty version refused:", errors.Is(err, etcd.ErrInvalidArgument) || errors.Is(err, etcd.ErrNotSupported))
	_, err = c.DowngradeCancel(ctx)
	fmt.Println("nothing to cancel:", err == nil || errors.Is(err, etcd.ErrInvalidArgument) || errors.Is(err, etcd.ErrNotSupported))
	// Output:
	// bad version refused: true
	// empty version refused: true
	// nothing to cancel: true
}
