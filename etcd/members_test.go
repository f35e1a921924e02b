//etcdkit:needs Cluster.MemberAdd,Cluster.MemberRemove,Cluster.MemberUpdate,Cluster.MemberPromote,Cluster.MemberList,Maintenance.Status,Maintenance.Alarm

package etcd

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestMembers adds members that never start (a learner, then a voter that three running
// members outvote), updates, refuses to promote the learner that has not caught up, and
// removes them, checking the member list at each step.
func TestMembers(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3})
	c := newClient(t, cl, Config{})
	ctx := t.Context()

	// Members refuse membership changes ("unhealthy cluster") until they have been connected
	// to each other for five seconds; the refusal is made before anything is applied.
	// etcd 3.4 also refuses a voter right after a membership change.
	whenHealthy := func(add func() (MemberChange, error)) (MemberChange, error) {
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			res, err := add()
			if !errors.Is(err, ErrUnavailable) || time.Now().After(deadline) {
				return res, err
			}
		}
	}
	learner, err := whenHealthy(func() (MemberChange, error) {
		return c.MemberAddLearner(ctx, []string{"http://127.0.0.1:1"})
	})
	if err != nil {
		t.Fatalf("MemberAddLearner: %v", err)
	}
	if !learner.Member.IsLearner || learner.Member.ID == 0 || len(learner.Members) != 4 || learner.Header.ClusterID == 0 {
		t.Fatalf("MemberAddLearner = %+v", learner)
	}
	if _, err := c.MemberPromote(ctx, learner.Member.ID); err == nil {
		t.Fatal("MemberPromote of a learner that never started succeeded")
	}
	updated, err := c.MemberUpdate(ctx, learner.Member.ID, []string{"http://127.0.0.1:2"})
	if err != nil {
		t.Fatalf("MemberUpdate: %v", err)
	}
	i := slices.IndexFunc(updated.Members, func(m Member) bool { return m.ID == learner.Member.ID })
	if i < 0 || !slices.Equal(updated.Members[i].PeerURLs, []string{"http://127.0.0.1:2"}) {
		t.Fatalf("MemberUpdate: members %+v", updated.Members)
	}
	if _, err := c.MemberRemove(ctx, learner.Member.ID); err != nil {
		t.Fatalf("MemberRemove: %v", err)
	}

	// A running member's peer URL, added again, is refused. (Checked while every member runs:
	// etcd 3.4 answers "unhealthy cluster" before looking at the URL once a member that never
	// started is in the cluster.) The running members are told from the learner by ID: etcd
	// 3.4's answer to MemberUpdate marks no member a learner.
	running := updated.Members[slices.IndexFunc(updated.Members, func(m Member) bool { return m.ID != learner.Member.ID })]
	if _, err := whenHealthy(func() (MemberChange, error) {
		return c.MemberAdd(ctx, running.PeerURLs)
	}); !errors.Is(err, ErrMemberExists) {
		t.Fatalf("adding a peer URL twice = %v, want ErrMemberExists", err)
	}
	voter, err := whenHealthy(func() (MemberChange, error) {
		return c.MemberAdd(ctx, []string{"http://127.0.0.1:3"})
	})
	if err != nil || voter.Member.IsLearner {
		t.Fatalf("MemberAdd = %+v, %v", voter, err)
	}
	removed, err := c.MemberRemove(ctx, voter.Member.ID)
	if err != nil || len(removed.Members) != 3 {
		t.Fatalf("MemberRemove = %+v, %v", removed, err)
	}
	if _, err := c.MemberRemove(ctx, voter.Member.ID); !errors.Is(err, ErrMemberNotFound) {
		t.Fatalf("removing a removed member = %v, want ErrMemberNotFound", err)
	}
	list, _, err := c.MemberList(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("MemberList at the end = %+v, %v", list, err)
	}
	c.Close()
	if _, err := c.MemberRemove(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("MemberRemove after Close = %v, want ErrClosed", err)
	}
}
