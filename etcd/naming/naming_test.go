//etcdkit:needs Lease,Watch

package naming

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// newClient connects to endpoints and closes the client when the test ends.
func newClient(t *testing.T, endpoints ...string) *etcd.Client {
	t.Helper()
	c, err := etcd.New(etcd.Config{Endpoints: endpoints, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// instance is a service instance running in a child process (see runInstance).
type instance struct {
	cmd   *exec.Cmd
	addr  string
	ready time.Time // when it reported its registration
}

// startInstance starts an instance of service registered in etcd at endpoint; the test's end
// kills it.
func startInstance(t *testing.T, endpoint, service, id string, ttl time.Duration) *instance {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%s|%s", instanceEnv, endpoint, service, id, ttl))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		addr, ok := strings.CutPrefix(strings.TrimSpace(s), instanceReadyMessage)
		if !ok {
			t.Fatalf("instance %s printed %q", id, s)
		}
		return &instance{cmd: cmd, addr: addr, ready: time.Now()}
	case <-time.After(20 * time.Second):
		t.Fatalf("instance %s did not register", id)
	}
	return nil
}

// recorder is the resolver.ClientConn of a resolver built directly by a test: it keeps the
// addresses of the last state and counts the errors reported.
type recorder struct {
	resolver.ClientConn // the methods resolvers may not call are left nil

	mu     sync.Mutex
	addrs  []string
	meta   map[string]string // address -> its metadata, printed with fmt
	states int
	errs   []error
}

func (r *recorder) UpdateState(s resolver.State) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addrs = r.addrs[:0]
	r.meta = map[string]string{}
	for _, ep := range s.Endpoints {
		r.addrs = append(r.addrs, ep.Addresses[0].Addr)
		if md, ok := EndpointMetadata(ep); ok {
			r.meta[ep.Addresses[0].Addr] = fmt.Sprint(md)
		}
	}
	r.states++
	return nil
}

func (r *recorder) ReportError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *recorder) ParseServiceConfig(string) *serviceconfig.ParseResult {
	return &serviceconfig.ParseResult{}
}

// waitAddrs waits until the last state holds exactly want (sorted), and returns how long
// that took.
func (r *recorder) waitAddrs(t *testing.T, want []string, limit time.Duration) time.Duration {
	t.Helper()
	slices.Sort(want)
	start := time.Now()
	for {
		r.mu.Lock()
		got := slices.Clone(r.addrs)
		r.mu.Unlock()
		if slices.Equal(got, want) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("after %v the resolver gives %v, want %v", limit, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// build starts a resolver for target with a recorder.
func build(t *testing.T, b resolver.Builder, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	r, err := b.Build(resolver.Target{URL: *u}, rec, resolver.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return rec
}

// TestResolverFollowsInstances runs three instances of a gRPC service in processes of their
// own, registered in etcd, and a gRPC client that resolves them through etcd: calls are
// spread over all three; a SIGKILLed instance drops out within its lease TTL; a new one
// serves calls within a second of registering; and with the resolver's etcd connection cut
// while an instance dies and the history is compacted, calls go on and the resolver ends
// with exactly the registry, reporting no error.
func TestResolverFollowsInstances(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	const service = "svc/health"
	cl := etcdtest.StartCluster(t, etcdtest.Options{Proxy: true})
	member := cl.Members[0]
	direct := member.DirectEndpoint()
	dc := newClient(t, direct)
	c := newClient(t, cl.Endpoints()...)
	ctx := t.Context()

	var inst []*instance
	for i := range 3 {
		inst = append(inst, startInstance(t, direct, service, fmt.Sprint(i), ttl))
	}
	b := NewBuilder(c)
	rec := build(t, b, "etcd:///"+service)
	rec.waitAddrs(t, []string{inst[0].addr, inst[1].addr, inst[2].addr}, 5*time.Second)

	conn, err := grpc.NewClient("etcd:///"+service, grpc.WithResolvers(b), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	call := func() (string, error) {
		var p peer.Peer
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := hc.Check(cctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p), grpc.WaitForReady(true))
		if err != nil {
			return "", err
		}
		return p.Addr.String(), nil
	}
	spread := func(phase string, n int, want ...*instance) map[string]int {
		t.Helper()
		seen := map[string]int{}
		for range n {
			addr, err := call()
			if err != nil {
				t.Fatalf("%s: call: %v", phase, err)
			}
			seen[addr]++
		}
		for addr := range seen {
			if !slices.ContainsFunc(want, func(in *instance) bool { return in.addr == addr }) {
				t.Fatalf("a call went to %s, not one of the live instances", addr)
			}
		}
		return seen
	}
	// Round robin reaches every instance once its connection is up.
	deadline := time.Now().Add(5 * time.Second)
	seen := spread("three instances", 30, inst...)
	for len(seen) < 3 && time.Now().Before(deadline) {
		seen = spread("three instances", 30, inst...)
	}
	if len(seen) != 3 {
		t.Fatalf("calls reached %d instances, want 3: %v", len(seen), seen)
	}

	// SIGKILL: the instance's lease expires and the resolver drops it.
	killed := time.Now()
	inst[0].cmd.Process.Kill()
	dropped := rec.waitAddrs(t, []string{inst[1].addr, inst[2].addr}, ttl+2*time.Second)
	if dropped > ttl+time.Second {
		t.Errorf("the killed instance dropped out after %v, its TTL is %v", dropped, ttl)
	}
	spread("after the kill", 20, inst[1], inst[2])

	// A new instance serves calls within a second of registering.
	inst = append(inst, startInstance(t, direct, service, "3", ttl))
	var used time.Duration
	for {
		addr, err := call()
		if err != nil {
			t.Fatal(err)
		}
		if addr == inst[3].addr {
			used = time.Since(inst[3].ready)
			break
		}
		if time.Since(inst[3].ready) > 5*time.Second {
			t.Fatal("the new instance was never called")
		}
	}
	if used > time.Second {
		t.Errorf("the new instance was first called %v after registering", used)
	}

	// Cut the resolvers off from etcd; an instance dies and the history is compacted.
	member.Proxy().Blackhole()
	member.Proxy().DropConnections()
	inst[1].cmd.Process.Kill()
	inst[1].cmd.Wait()
	time.Sleep(100 * time.Millisecond) // for gRPC to see the connection close: calls in flight fail
	for {
		eps, err := List(ctx, dc, service)
		if err != nil {
			t.Fatal(err)
		}
		if len(eps) == 2 {
			break
		}
		spread("cut off", 5, inst[1:]...) // calls go on while the list is out of date
		time.Sleep(50 * time.Millisecond)
	}
	res, err := dc.Put(ctx, "svc/other", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.Compact(ctx, res.Header.Revision); err != nil {
		t.Fatal(err)
	}
	member.Proxy().Unblackhole()
	rec.waitAddrs(t, []string{inst[2].addr, inst[3].addr}, 10*time.Second)
	spread("after the cut", 20, inst[2], inst[3])
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.errs) > 0 {
		t.Fatalf("the resolver reported %v", rec.errs)
	}
	t.Logf("instances: calls spread %v; killed instance dropped after %v (TTL %v, killed %v ago); new instance called %v after registering; %d states, 0 errors through a cut and a compaction",
		seen, dropped.Round(time.Millisecond), ttl, time.Since(killed).Round(time.Millisecond), used.Round(time.Millisecond), rec.states)
}

// TestRegisterRepublishesAndWithdraws checks the stored value, publication again after the
// lease is revoked behind the registration's back, and Close.
// TestResolverGivesMetadata checks that every endpoint the resolver gives gRPC carries its
// instance's metadata, the first key's where two share an address, and follows changes.
func TestResolverGivesMetadata(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl.Endpoints()...)
	ctx := t.Context()
	for _, reg := range []struct{ id, addr, zone string }{
		{"a", "10.0.0.1:80", "z1"}, {"b", "10.0.0.2:80", "z2"}, {"c", "10.0.0.1:80", "z3"},
	} {
		r, err := Register(ctx, c, "svc/meta", reg.id, Endpoint{Addr: reg.addr, Metadata: map[string]string{"zone": reg.zone}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
	}
	rec := build(t, NewBuilder(c), "etcd:///svc/meta")
	rec.waitAddrs(t, []string{"10.0.0.1:80", "10.0.0.2:80"}, 5*time.Second)
	want := map[string]string{"10.0.0.1:80": "map[zone:z1]", "10.0.0.2:80": "map[zone:z2]"}
	rec.mu.Lock()
	got := maps.Clone(rec.meta)
	rec.mu.Unlock()
	if !maps.Equal(got, want) {
		t.Fatalf("metadata by address = %v, want %v", got, want)
	}

	if _, err := Register(ctx, c, "svc/meta", "b", Endpoint{Addr: "10.0.0.2:80", Metadata: map[string]string{"zone": "z9"}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		rec.mu.Lock()
		md := rec.meta["10.0.0.2:80"]
		rec.mu.Unlock()
		if md == "map[zone:z9]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metadata of 10.0.0.2:80 is %q after a new registration, want map[zone:z9]", md)
		}
	}
	if _, ok := EndpointMetadata(resolver.Endpoint{Addresses: []resolver.Address{{Addr: "x:1"}}}); ok {
		t.Error("EndpointMetadata found metadata on an endpoint the resolver did not make")
	}
}

func TestRegisterRepublishesAndWithdraws(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl.Endpoints()...)
	ctx := t.Context()
	reg, err := Register(ctx, c, "svc/reg", "a", Endpoint{Addr: "10.0.0.1:80", Metadata: map[string]string{"zone": "z1"}}, TTL(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := c.Get(ctx, reg.Key())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Op":0,"Addr":"10.0.0.1:80","Metadata":{"zone":"z1"}}`; string(kv.Value) != want || kv.Lease == 0 {
		t.Fatalf("stored %s (lease %v), want %s on a lease", kv.Value, kv.Lease, want)
	}

	if _, err := c.Revoke(ctx, kv.Lease); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		again, err := c.Get(ctx, reg.Key())
		if err == nil && again.Lease != kv.Lease {
			t.Logf("published again %v after its lease was revoked", time.Since(start).Round(time.Millisecond))
			break
		}
		if err != nil && !errors.Is(err, etcd.ErrKeyNotFound) {
			t.Fatal(err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("not published again after its lease was revoked")
		}
		time.Sleep(20 * time.Millisecond)
	}

	eps, err := List(ctx, c, "svc/reg")
	if err != nil {
		t.Fatal(err)
	}
	if ep := eps["svc/reg/a"]; ep.Addr != "10.0.0.1:80" || fmt.Sprint(ep.Metadata) != "map[zone:z1]" {
		t.Fatalf("List: %v", eps)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.Get(ctx, "svc/reg/a"); !errors.Is(err, etcd.ErrKeyNotFound) {
		t.Fatalf("after Close: %v", err)
	}

	// A registration whose client closes stops trying.
	c2 := newClient(t, cl.Endpoints()...)
	reg2, err := Register(ctx, c2, "svc/reg", "b", Endpoint{Addr: "10.0.0.2:80"})
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	done := make(chan struct{})
	go func() {
		reg2.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs after the client was closed")
	}
}

// TestBadInput checks the arguments every entry point refuses, and values that are skipped.
func TestBadInput(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl.Endpoints()...)
	ctx := t.Context()
	for name, err := range map[string]error{
		"empty service": func() error { _, err := Register(ctx, c, "", "a", Endpoint{Addr: "x:1"}); return err }(),
		"trailing /":    func() error { _, err := Register(ctx, c, "svc/", "a", Endpoint{Addr: "x:1"}); return err }(),
		"empty id":      func() error { _, err := Register(ctx, c, "svc", "", Endpoint{Addr: "x:1"}); return err }(),
		"empty addr":    func() error { _, err := Register(ctx, c, "svc", "a", Endpoint{}); return err }(),
		"bad metadata": func() error {
			_, err := Register(ctx, c, "svc", "a", Endpoint{Addr: "x:1", Metadata: func() {}})
			return err
		}(),
		"list": func() error { _, err := List(ctx, c, ""); return err }(),
		"resolve": func() error {
			_, err := NewBuilder(c).Build(resolver.Target{URL: url.URL{Scheme: "etcd", Path: "/"}}, &recorder{}, resolver.BuildOptions{})
			return err
		}(),
	} {
		if !errors.Is(err, etcd.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), "naming: ") {
			t.Errorf("%s: %v", name, err)
		}
	}

	for _, kv := range [][2]string{
		{"svc/skip/json", "not json"}, {"svc/skip/delete", `{"Op":1,"Addr":"x:1"}`},
		{"svc/skip/noaddr", `{"Op":0,"Metadata":1}`}, {"svc/skip/ok", `{"Addr":"x:1"}`},
	} {
		if _, err := c.Put(ctx, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	eps, err := List(ctx, c, "svc/skip")
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 1 || eps["svc/skip/ok"].Addr != "x:1" {
		t.Fatalf("List kept %v", eps)
	}
	build(t, NewBuilder(c), "etcd:///svc/skip").waitAddrs(t, []string{"x:1"}, 5*time.Second)
}

// TestRegisterWithSession: a registration riding a session is on its lease; Close deletes
// the key and leaves the session running; the session's end ends the registration. One on a
// lease the caller keeps leaves the lease alone.
func TestRegisterWithSession(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl.Endpoints()...)
	ctx := t.Context()
	sess, err := c.NewSession(ctx, etcd.TTL(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	reg, err := Register(ctx, c, "svc/shared", "a", Endpoint{Addr: "10.0.0.1:80"}, AttachSession(sess))
	if err != nil {
		t.Fatal(err)
	}
	if kv, err := c.Get(ctx, reg.Key()); err != nil || kv.Lease != sess.Lease() {
		t.Fatalf("registered key %+v, %v; want it on the session's lease %v", kv, err, sess.Lease())
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, reg.Key()); !errors.Is(err, etcd.ErrKeyNotFound) {
		t.Fatalf("after Close: %v", err)
	}
	select {
	case <-sess.Done():
		t.Fatalf("Close ended the caller's session: %v", sess.Err())
	default:
	}

	reg2, err := Register(ctx, c, "svc/shared", "b", Endpoint{Addr: "10.0.0.2:80"}, AttachSession(sess))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reg2.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the registration outlived its session")
	}
	if _, err := c.Get(ctx, reg2.Key()); !errors.Is(err, etcd.ErrKeyNotFound) {
		t.Fatalf("key after its session closed: %v", err)
	}
	if err := reg2.Close(); err != nil {
		t.Fatalf("Close after the session ended: %v", err)
	}

	// On a lease the caller keeps: Close deletes the key, the lease lives on.
	l, err := c.Grant(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	reg3, err := Register(ctx, c, "svc/shared", "c", Endpoint{Addr: "10.0.0.3:80"}, AttachLease(l.ID))
	if err != nil {
		t.Fatal(err)
	}
	if kv, err := c.Get(ctx, reg3.Key()); err != nil || kv.Lease != l.ID {
		t.Fatalf("registered key %+v, %v; want it on lease %v", kv, err, l.ID)
	}
	if err := reg3.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, reg3.Key()); !errors.Is(err, etcd.ErrKeyNotFound) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := c.TimeToLive(ctx, l.ID); err != nil {
		t.Fatalf("the caller's lease after Close: %v", err)
	}
}
