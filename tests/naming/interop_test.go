package naming_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/naming/endpoints"
	v3resolver "go.etcd.io/etcd/client/v3/naming/resolver"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/etcd/naming"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clients connects both clients to one new etcd server.
func clients(t *testing.T) (*etcd.Client, *clientv3.Client) {
	t.Helper()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	ours, err := etcd.New(etcd.Config{Endpoints: cl.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ours.Close() })
	theirs, err := clientv3.New(clientv3.Config{Endpoints: cl.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { theirs.Close() })
	return ours, theirs
}

// serve starts a gRPC server with the health service on a free port, stopped at the test's
// end, and returns its address.
func serve(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// callThrough dials "etcd:///<service>" with the resolver builder b, makes one call and
// returns the address that answered.
func callThrough(t *testing.T, b resolver.Builder, service string) string {
	t.Helper()
	conn, err := grpc.NewClient("etcd:///"+service, grpc.WithResolvers(b), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var p peer.Peer
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p), grpc.WaitForReady(true)); err != nil {
		t.Fatalf("call through %T: %v", b, err)
	}
	return p.Addr.String()
}

// TestClientv3ResolvesOurs registers with etcdkit and discovers with clientv3: its manager
// lists the instance with its metadata, its resolver routes calls to it, and its watch sees
// the instance withdrawn by Close.
func TestClientv3ResolvesOurs(t *testing.T) {
	ours, theirs := clients(t)
	ctx := t.Context()
	addr := serve(t)
	reg, err := naming.Register(ctx, ours, "interop/ours", addr, naming.Endpoint{Addr: addr, Metadata: map[string]any{"zone": "a", "weight": 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()

	em, err := endpoints.NewManager(theirs, "interop/ours")
	if err != nil {
		t.Fatal(err)
	}
	list, err := em.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ep, ok := list["interop/ours/"+addr]
	if len(list) != 1 || !ok || ep.Addr != addr || fmt.Sprint(ep.Metadata) != "map[weight:3 zone:a]" {
		t.Fatalf("clientv3 lists %v", list)
	}
	b, err := v3resolver.NewBuilder(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if got := callThrough(t, b, "interop/ours"); got != addr {
		t.Fatalf("clientv3's resolver called %s, want %s", got, addr)
	}

	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	wch, err := em.NewWatchChannel(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if ups := <-wch; len(ups) != 1 || ups[0].Op != endpoints.Add {
		t.Fatalf("clientv3's watch starts with %v", ups)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	ups, ok := <-wch
	if !ok || len(ups) != 1 || ups[0].Op != endpoints.Delete || ups[0].Key != "interop/ours/"+addr {
		t.Fatalf("clientv3's watch after Close: %v, %v", ups, ok)
	}
	cancel()
	for range wch {
	}
}

// TestOursResolvesClientv3 registers with clientv3's manager and discovers with etcdkit: the
// stored bytes are the same either way, naming.List reads the instance with its metadata,
// and the resolver routes calls to it.
func TestOursResolvesClientv3(t *testing.T) {
	ours, theirs := clients(t)
	ctx := t.Context()
	addr := serve(t)
	lease, err := theirs.Grant(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer theirs.Revoke(context.Background(), lease.ID)
	em, err := endpoints.NewManager(theirs, "interop/theirs")
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]any{"zone": "b"}
	if err := em.AddEndpoint(ctx, "interop/theirs/1", endpoints.Endpoint{Addr: addr, Metadata: meta}, clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}

	reg, err := naming.Register(ctx, ours, "interop/same", "1", naming.Endpoint{Addr: addr, Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	theirBytes, err := ours.Get(ctx, "interop/theirs/1")
	if err != nil {
		t.Fatal(err)
	}
	ourBytes, err := ours.Get(ctx, "interop/same/1")
	if err != nil {
		t.Fatal(err)
	}
	if string(theirBytes.Value) != string(ourBytes.Value) {
		t.Fatalf("clientv3 stores %s, etcdkit %s", theirBytes.Value, ourBytes.Value)
	}

	list, err := naming.List(ctx, ours, "interop/theirs")
	if err != nil {
		t.Fatal(err)
	}
	if ep := list["interop/theirs/1"]; len(list) != 1 || ep.Addr != addr || fmt.Sprint(ep.Metadata) != "map[zone:b]" {
		t.Fatalf("etcdkit lists %v", list)
	}
	if got := callThrough(t, naming.NewBuilder(ours), "interop/theirs"); got != addr {
		t.Fatalf("etcdkit's resolver called %s, want %s", got, addr)
	}
	if err := em.DeleteEndpoint(ctx, "interop/theirs/1"); err != nil {
		t.Fatal(err)
	}
	if list, err := naming.List(ctx, ours, "interop/theirs"); err != nil || len(list) != 0 {
		t.Fatalf("after clientv3's DeleteEndpoint etcdkit lists %v, %v", list, err)
	}
	t.Logf("both write %s", ourBytes.Value)
}
