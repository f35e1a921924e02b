package etcd

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// quickSettle bounds a first call that one member list settles: the vote would wait for
// the first probes of the unreachable endpoints to fail, probeInterval after they start.
// (When the endpoint dialled first is an unreachable one, the others are dialled
// spreadDelay after the first call.)
const quickSettle = probeInterval * 9 / 10

// TestSettlesFromOneMemberList: with two of three endpoints unreachable (their proxies
// blackholed), a fresh client's first read answers at once, because the one member list
// it reads names all three endpoints; the unreachable ones stay out of the rotation until
// they answer, then come in. Under auth the list is read without a token.
func TestSettlesFromOneMemberList(t *testing.T) {
	t.Parallel()
	for _, auth := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "auth"}[auth], func(t *testing.T) {
			t.Parallel()
			cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3, Proxy: true})
			ctx := t.Context()
			cfg := Config{}
			admin := newClient(t, cl, Config{Endpoints: cl.Endpoints()[:1]})
			mustPut(t, admin, "app/k", "v")
			if auth {
				enableAuth(t, admin)
				cfg = Config{Username: "app", Password: "secret"}
			}
			for _, m := range cl.Members[1:] {
				m.Proxy().Blackhole()
				defer m.Proxy().Unblackhole()
			}
			c := newClient(t, cl, cfg)
			start := time.Now()
			kv, err := c.Get(ctx, "app/k")
			took := time.Since(start)
			if err != nil || string(kv.Value) != "v" {
				t.Fatalf("first read = %q, %v", kv.Value, err)
			}
			t.Logf("first read with two endpoints unreachable: %v", took)
			if took > quickSettle {
				t.Fatalf("first read took %v, want under %v: the member list did not settle the cluster", took, quickSettle)
			}
			for i, m := range cl.Members {
				if s := stateOf(c, m.Endpoint()); s.InUse != (i == 0) {
					t.Fatalf("endpoint %d (%s): %+v; want only the reachable one in use", i, m.Endpoint(), s)
				}
			}
			for _, m := range cl.Members[1:] {
				m.Proxy().Unblackhole()
			}
			waitFor(t, 5*time.Second, "the endpoints back in use", func() bool {
				// Under auth the probes, without a token, learn no member: calls' replies do.
				if _, err := c.Get(ctx, "app/k"); err != nil {
					t.Fatal(err)
				}
				return allInUse(c)
			})
		})
	}
}

// TestForeignEndpointAnsweringFirstIsRefused: the only endpoint reachable at first belongs
// to another cluster, whose member list names none of the others; its answer settles
// nothing, the first read (sent to it) is answered from the cluster the other endpoints
// serve once they answer, and the foreign endpoint is held out.
func TestForeignEndpointAnsweringFirstIsRefused(t *testing.T) {
	t.Parallel()
	home := etcdtest.StartCluster(t, etcdtest.Options{Size: 3, Proxy: true})
	other := etcdtest.StartCluster(t, etcdtest.Options{})
	ctx := t.Context()
	mustPut(t, newClient(t, home, Config{}), "ff/k", "home")
	mustPut(t, newClient(t, other, Config{}), "ff/k", "other")
	for _, m := range home.Members {
		m.Proxy().Blackhole()
		defer m.Proxy().Unblackhole()
	}
	foreign := other.Endpoints()[0]
	c := newClient(t, home, Config{Endpoints: append([]string{foreign}, home.Endpoints()...)})
	type result struct {
		value string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		kv, err := c.Get(ctx, "ff/k")
		done <- result{string(kv.Value), err}
	}()
	// Open the way to the home cluster once the foreign endpoint answered its probe, before
	// the home endpoints' first probes fail (after probeInterval: then the vote would go to
	// the only cluster that answered).
	waitFor(t, probeInterval/2, "the foreign endpoint's answer", func() bool { return stateOf(c, foreign).MemberID != 0 })
	for _, m := range home.Members {
		m.Proxy().Unblackhole()
	}
	if r := <-done; r.err != nil || r.value != "home" {
		t.Fatalf("first read = %q, %v; want the home cluster's value", r.value, r.err)
	}
	// Its reply's cluster dropped what its probe said; its next probe says it again.
	waitFor(t, 2*probeInterval, "the foreign endpoint held out as foreign", func() bool {
		s := stateOf(c, foreign)
		return !s.InUse && s.Reason == reasonForeign
	})
}

// TestSettleFallsBackToTheVote: endpoints that name the members otherwise than their
// advertised URLs (localhost for 127.0.0.1) make no list conclusive; the client settles by
// the vote, which with two endpoints unreachable waits for their first probes to fail.
func TestSettleFallsBackToTheVote(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{Size: 3, Proxy: true})
	mustPut(t, newClient(t, cl, Config{}), "fb/k", "v")
	var eps []string
	for _, m := range cl.Members {
		_, port, err := net.SplitHostPort(m.Endpoint())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m.ClientURL(), "http://127.0.0.1:") {
			t.Fatalf("member advertises %s; the test wants 127.0.0.1", m.ClientURL())
		}
		eps = append(eps, net.JoinHostPort("localhost", port))
	}
	for _, m := range cl.Members[1:] {
		m.Proxy().Blackhole()
		defer m.Proxy().Unblackhole()
	}
	c := newClient(t, cl, Config{Endpoints: eps})
	start := time.Now()
	kv, err := c.Get(t.Context(), "fb/k", Serializable())
	took := time.Since(start)
	if err != nil || string(kv.Value) != "v" {
		t.Fatalf("first read = %q, %v", kv.Value, err)
	}
	t.Logf("first read settled by the vote: %v", took)
	if took < probeInterval*9/10 {
		t.Fatalf("first read took %v: settled before the unreachable endpoints' probes failed (%v), not by the vote", took, probeInterval)
	}
	if s := stateOf(c, eps[0]); !s.InUse || s.MemberID == 0 {
		t.Fatalf("the reachable endpoint: %+v", s)
	}
}

// TestMemberListNamesEndpoints: which member lists name more than half of the configured
// endpoints.
func TestMemberListNamesEndpoints(t *testing.T) {
	t.Parallel()
	eps := []string{"10.0.0.1:2379", "10.0.0.2:2379", "unix:///run/etcd/m3:2379"}
	m := func(urls ...string) listedMember { return listedMember{id: uint64(len(urls) + 1), urls: urls} }
	for _, tc := range []struct {
		name string
		ms   []listedMember
		want bool
	}{
		{"all", []listedMember{m("http://10.0.0.1:2379"), m("http://10.0.0.2:2379"), m("unix:///run/etcd/m3:2379")}, true},
		{"two of three, https and a second URL", []listedMember{m("https://10.0.0.1:2379"), m("http://10.9.9.9:2379", "http://10.0.0.2:2379")}, true},
		{"a learner counts", []listedMember{m("http://10.0.0.1:2379"), {id: 9, urls: []string{"http://10.0.0.2:2379"}, learner: true}}, true},
		{"one of three", []listedMember{m("http://10.0.0.1:2379"), m("http://10.0.0.7:2379")}, false},
		{"members not started have no URLs", []listedMember{m("http://10.0.0.1:2379"), m(), m()}, false},
		{"host names for IPs", []listedMember{m("http://etcd-1:2379"), m("http://etcd-2:2379"), m("http://etcd-3:2379")}, false},
		{"another port", []listedMember{m("http://10.0.0.1:2380"), m("http://10.0.0.2:2380")}, false},
		{"no list", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHealth(&Client{}, eps, false)
			if got := h.names(tc.ms); got != tc.want {
				t.Fatalf("names(%v) = %v, want %v", tc.ms, got, tc.want)
			}
		})
	}
}
