//etcdkit:needs Cluster.MemberList,Maintenance.Status,Maintenance.Alarm

package etcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

func TestMembersAndStatus(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3})
	c := newClient(t, cl, Config{})
	ctx := t.Context()

	members, hdr, err := c.MemberList(ctx)
	if err != nil || len(members) != 3 || hdr.ClusterID == 0 {
		t.Fatalf("MemberList = %+v, %+v, %v", members, hdr, err)
	}
	names := map[string]bool{}
	for _, m := range members {
		names[m.Name] = true
		if m.ID == 0 || len(m.ClientURLs) != 1 || len(m.PeerURLs) != 1 {
			t.Errorf("member %+v lacks an ID or URLs", m)
		}
	}
	for _, m := range cl.Members {
		if !names[m.Name] {
			t.Errorf("member %s missing from %v", m.Name, names)
		}
	}

	leaders := 0
	for _, ep := range c.Endpoints() {
		st, err := c.Status(ctx, ep)
		if err != nil {
			t.Fatalf("Status %s: %v", ep, err)
		}
		if "v"+st.Version != cl.Version || st.DBSize <= 0 || st.RaftIndex == 0 || st.Leader == 0 {
			t.Errorf("Status %s = %+v", ep, st)
		}
		if st.IsLeader() {
			leaders++
		}
	}
	if leaders != 1 {
		t.Fatalf("%d endpoints say they lead, want 1", leaders)
	}
	if _, err := c.Status(ctx, "nonsense"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Status of a malformed endpoint = %v", err)
	}
}

// TestMemberListSerializable: with two of three members down, a serializable member list is
// served by the survivor from its own view, while a linearizable one (the default, on 3.5 and
// later) cannot be served without a quorum.
func TestMemberListSerializable(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3})
	for _, m := range cl.Members[1:] {
		if err := m.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, cl, Config{Endpoints: []string{cl.Members[0].Endpoint()}})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	members, hdr, err := c.MemberList(ctx, Serializable())
	if err != nil || len(members) != 3 || hdr.MemberID == 0 {
		t.Fatalf("serializable MemberList without a quorum = %+v, %+v, %v", members, hdr, err)
	}
	if !versionAtLeast(cl.Version, 3, 5, 0) || !hasField(&etcdserverpb.MemberListRequest{}, "linearizable") {
		return // older servers, or stubs without the field, answer from the member's own view
	}
	lctx, lcancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer lcancel()
	if members, _, err := c.MemberList(lctx); err == nil {
		t.Fatalf("linearizable MemberList without a quorum = %+v, want an error", members)
	}
}

// TestFailover: the first endpoint is down when the client starts; it comes back, and then
// another member dies mid-run (a quorum lives throughout). Every read succeeds, and no write
// is applied twice.
func TestFailover(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3})
	if err := cl.Members[0].Stop(); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, cl, Config{DialTimeout: time.Second})

	const writers, perWriter = 4, 150
	var (
		wg        sync.WaitGroup
		reads     atomic.Int64
		readFails atomic.Int64
		acked     sync.Map // key → struct{}: writes the client reported as applied
		ambiguous atomic.Int64
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				key := fmt.Sprintf("fo/%d/%d", w, i)
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				if _, err := c.Put(ctx, key, "v"); err == nil {
					acked.Store(key, struct{}{})
				} else {
					ambiguous.Add(1)
				}
				if _, err := c.Range(ctx, Prefix("fo/"), CountOnly()); err != nil {
					readFails.Add(1)
					t.Errorf("read failed: %v", err)
				}
				reads.Add(1)
				cancel()
				switch {
				case w == 0 && i == perWriter/3:
					if err := cl.Members[0].Start(); err != nil {
						t.Error(err)
					}
				case w == 0 && i == 2*perWriter/3:
					if err := cl.Members[1].Kill(); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()

	res, err := c.Range(t.Context(), Prefix("fo/"))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, kv := range res.KVs {
		found[string(kv.Key)] = true
		if kv.Version != 1 {
			t.Errorf("%s has version %d: a write was applied twice", kv.Key, kv.Version)
		}
	}
	lost := 0
	acked.Range(func(k, _ any) bool {
		if !found[k.(string)] {
			lost++
		}
		return true
	})
	t.Logf("reads %d (failed %d), writes acked %d, ambiguous %d, lost %d", reads.Load(), readFails.Load(), len(found), ambiguous.Load(), lost)
	if lost != 0 {
		t.Fatalf("%d acknowledged writes are missing", lost)
	}
}

// TestHungEndpoint: one member's connection goes silent (blackholed by the proxy, as in a
// partition or a paused process): every read still succeeds, each within about one hedge
// delay of the healthy endpoints' answer.
func TestHungEndpoint(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3, Proxy: true})
	const attempt = time.Second
	c := newClient(t, cl, Config{ReadHedgeDelay: attempt})
	mustPut(t, c, "hung/k", "v")
	for range 6 { // connect to every endpoint
		if _, err := c.Get(t.Context(), "hung/k"); err != nil {
			t.Fatal(err)
		}
	}
	cl.Members[0].Proxy().Blackhole()
	defer cl.Members[0].Proxy().Unblackhole()

	var slowest time.Duration
	for i := range 12 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		start := time.Now()
		kv, err := c.Get(ctx, "hung/k")
		cancel()
		if err != nil || string(kv.Value) != "v" {
			t.Fatalf("read %d with a hung endpoint: %+v, %v", i, kv, err)
		}
		slowest = max(slowest, time.Since(start))
	}
	if slowest > attempt+2*time.Second {
		t.Fatalf("slowest read took %v; want about one hedge delay (%v)", slowest, attempt)
	}
	t.Logf("slowest of 12 reads with one endpoint hung: %v", slowest)
}

// TestHedgeReachesEndpointsProbedLater: right after its first call a client uses only the
// endpoint it dialled first (the others are probed a moment later); a read sent then to that
// endpoint, hung, is hedged to another once one comes into use, rather than waiting for its
// deadline.
func TestHedgeReachesEndpointsProbedLater(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3, Proxy: true})
	const delay = 300 * time.Millisecond
	// A client whose other endpoints were probed already (a slow first call) proves nothing:
	// take a fresh one, a few times at most.
	var c *Client
	var lead *etcdtest.Member
	for try := 0; lead == nil; try++ {
		if try == 5 {
			t.Fatalf("five clients had more or less than one endpoint in use after their first call: %+v", c.EndpointStates())
		}
		c = newClient(t, cl, Config{ReadHedgeDelay: delay})
		mustPut(t, c, "late/k", "v")
		var inUse []*etcdtest.Member
		for _, m := range cl.Members {
			if stateOf(c, m.Endpoint()).InUse {
				inUse = append(inUse, m)
			}
		}
		if len(inUse) == 1 {
			lead = inUse[0]
		}
	}
	lead.Proxy().Blackhole()
	defer lead.Proxy().Unblackhole()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	kv, err := c.Get(ctx, "late/k")
	took := time.Since(start)
	if err != nil || string(kv.Value) != "v" {
		t.Fatalf("read with the lead hung = %q, %v (after %v)", kv.Value, err, took)
	}
	if took > delay+2*time.Second {
		t.Fatalf("read with the lead hung took %v; want about one hedge delay (%v)", took, delay)
	}
	t.Logf("read with the lead endpoint hung: %v", took)
}

// TestAlarms fills a tiny quota: the NOSPACE alarm is listed and writes fail with ErrNoSpace.
func TestAlarms(t *testing.T) {
	// The quota is checked against the backend's committed size, which grows at each backend
	// commit: commit often, and keep writing until the server notices.
	cl := etcdtest.StartCluster(t, etcdtest.Options{Args: []string{"--quota-backend-bytes=1048576", "--backend-batch-interval=10ms"}})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	if alarms, _, err := c.AlarmList(ctx); err != nil || len(alarms) != 0 {
		t.Fatalf("Alarms on a fresh cluster = %v, %v", alarms, err)
	}
	value := string(make([]byte, 512<<10))
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = c.Put(ctx, fmt.Sprintf("fill/%d", i), value)
		time.Sleep(20 * time.Millisecond)
	}
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("writes past the quota = %v, want ErrNoSpace", err)
	}
	alarms, h, err := c.AlarmList(ctx)
	// etcd 3.4 answers alarm requests without a header.
	wantHeader := versionAtLeast(cl.Version, 3, 5, 0)
	if err != nil || len(alarms) != 1 || alarms[0].Type != "NOSPACE" || alarms[0].MemberID == 0 || wantHeader && h.MemberID == 0 {
		t.Fatalf("Alarms = %+v (header %+v), %v; want one NOSPACE", alarms, h, err)
	}
}

// TestForeignEndpointIsDropped mixes one member of another cluster, listed first, into a
// three-member cluster's endpoints: every write lands in the majority's cluster, every read
// answers from it.
func TestForeignEndpointIsDropped(t *testing.T) {
	home := etcdtest.StartCluster(t, etcdtest.Options{Size: 3})
	other := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, home, Config{Endpoints: append(other.Endpoints(), home.Endpoints()...)})
	homeOnly := newClient(t, home, Config{})
	ctx := t.Context()

	want, _, err := homeOnly.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		res, err := c.Put(ctx, fmt.Sprintf("fe/%d", i), "v")
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		got, err := c.Range(ctx, Prefix("fe/"), CountOnly())
		if err != nil || got.Count != int64(i+1) || got.Header.ClusterID != res.Header.ClusterID {
			t.Fatalf("read %d = %d keys from cluster %x, %v; want %d from %x", i, got.Count, got.Header.ClusterID, err, i+1, res.Header.ClusterID)
		}
	}
	if n, err := homeOnly.Range(ctx, Prefix("fe/"), CountOnly()); err != nil || n.Count != 20 {
		t.Fatalf("home cluster holds %d of the 20 keys, %v", n.Count, err)
	}
	if members, _, err := c.MemberList(ctx); err != nil || len(members) != len(want) {
		t.Fatalf("member list through the mixed client = %d members, %v; want %d", len(members), err, len(want))
	}

	// A read may go out before the cluster is settled (to the foreign endpoint, listed first):
	// its answer must still come from the majority's cluster.
	otherOnly := newClient(t, other, Config{})
	if _, err := otherOnly.Put(ctx, "fe/first", "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := homeOnly.Put(ctx, "fe/first", "home"); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		fresh := newClient(t, home, Config{Endpoints: append(other.Endpoints(), home.Endpoints()...)})
		kv, err := fresh.Get(ctx, "fe/first")
		if err != nil || string(kv.Value) != "home" {
			t.Fatalf("first read %d of a fresh client = %q, %v; want the home cluster's value", i, kv.Value, err)
		}
	}
}

// TestUnixSocketEndpoints: a client reaches members through their unix sockets, plaintext
// and with TLS (verified as localhost), for calls and the per-endpoint status.
func TestUnixSocketEndpoints(t *testing.T) {
	t.Parallel()
	if !versionAtLeast(etcdtest.Version(), 3, 5, 0) {
		t.Skipf("etcd %s listens only on sockets named host:port in its working directory", etcdtest.Version())
	}
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "unix", true: "unixs"}[tls], func(t *testing.T) {
			t.Parallel()
			cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3, UnixSocket: true, TLS: tls})
			var eps []string
			for _, m := range cl.Members {
				eps = append(eps, m.UnixEndpoint())
			}
			c := newClient(t, cl, Config{Endpoints: eps})
			ctx := t.Context()
			mustPut(t, c, "sock/a", "1")
			kv, err := c.Get(ctx, "sock/a")
			if err != nil || string(kv.Value) != "1" {
				t.Fatalf("Get over %s = %+v, %v", eps[0], kv, err)
			}
			st, err := c.Status(ctx, eps[1])
			if err != nil || st.Header.MemberID == 0 {
				t.Fatalf("Status(%s) = %+v, %v", eps[1], st, err)
			}
		})
	}
}
