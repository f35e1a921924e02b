//etcdkit:needs Lease,Watch

package naming

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// Environment of the test binary run as a service instance (see runInstance).
const (
	instanceEnv          = "ETCDKIT_NAMING_INSTANCE" // "<endpoints>|<service>|<id>|<ttl>"
	exampleEndpointsEnv  = "ETCDKIT_EXAMPLE_ENDPOINTS"
	instanceReadyMessage = "registered "
)

// TestMain runs the binary as a service instance when asked to; otherwise it starts the etcd
// server the examples use, runs everything, and checks that no goroutine outlived its test.
func TestMain(m *testing.M) {
	if spec := os.Getenv(instanceEnv); spec != "" {
		if err := runInstance(spec); err != nil {
			fmt.Fprintln(os.Stderr, "instance:", err)
			os.Exit(1)
		}
		return
	}
	cl, err := etcdtest.Start(etcdtest.Options{})
	if etcdtest.ServerOptional(err) {
		os.Exit(m.Run())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "the examples need a real etcd: %v\n", err)
		os.Exit(1)
	}
	os.Setenv(exampleEndpointsEnv, strings.Join(cl.Endpoints(), ","))
	code := m.Run()
	cl.Stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// runInstance is a service instance in a process of its own, for tests that SIGKILL it: a
// gRPC server with the standard health service on a free loopback port, registered in etcd.
// It prints "registered <addr>" once Register has returned and serves until killed.
func runInstance(spec string) error {
	f := strings.Split(spec, "|")
	if len(f) != 4 {
		return fmt.Errorf("bad %s %q", instanceEnv, spec)
	}
	ttl, err := time.ParseDuration(f[3])
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	c, err := etcd.New(etcd.Config{Endpoints: strings.Split(f[0], ",")})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Register(ctx, c, f[1], f[2], Endpoint{Addr: lis.Addr().String()}, TTL(ttl)); err != nil {
		return err
	}
	fmt.Println(instanceReadyMessage + lis.Addr().String())
	select {}
}
