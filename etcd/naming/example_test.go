//etcdkit:needs Lease,Watch

package naming_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/etcd/naming"
)

// Register a gRPC server in etcd and call it through the etcd resolver.
func Example() {
	// endpoints names the server TestMain started; in a program, e.g. "127.0.0.1:2379".
	endpoints := strings.Split(os.Getenv("ETCDKIT_EXAMPLE_ENDPOINTS"), ",")
	c, err := etcd.New(etcd.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	// A service instance: any gRPC server (here the standard health service).
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	defer srv.Stop()

	reg, err := naming.Register(ctx, c, "example/health", "instance-1",
		naming.Endpoint{Addr: lis.Addr().String(), Metadata: map[string]string{"zone": "a"}},
		naming.TTL(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close() // withdraws the instance
	fmt.Println("registered at", reg.Key())

	eps, err := naming.List(ctx, c, "example/health")
	if err != nil {
		log.Fatal(err)
	}
	for key, ep := range eps {
		fmt.Println(key, ep.Metadata, ep.Addr == lis.Addr().String())
	}

	// A client: calls are spread over the live instances of the service.
	conn, err := grpc.NewClient("etcd:///example/health",
		grpc.WithResolvers(naming.NewBuilder(c, naming.ServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status)

	// A custom balancer reads an instance's metadata from the endpoints the resolver gives
	// gRPC; other endpoints have none.
	_, ok := naming.EndpointMetadata(resolver.Endpoint{Addresses: []resolver.Address{{Addr: "10.0.0.1:80"}}})
	fmt.Println("metadata of a foreign endpoint:", ok)
	// Output:
	// registered at example/health/instance-1
	// example/health/instance-1 map[zone:a] true
	// SERVING
	// metadata of a foreign endpoint: false
}

// Write a registration yourself, on a lease of your own (here a session's), in the format
// Register, List, the resolver and clientv3's naming/endpoints share.
func ExampleEndpoint_MarshalJSON() {
	endpoints := strings.Split(os.Getenv("ETCDKIT_EXAMPLE_ENDPOINTS"), ",")
	c, err := etcd.New(etcd.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	s, err := c.NewSession(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	value, err := naming.Endpoint{Addr: "10.0.0.2:80", Metadata: "blue"}.MarshalJSON()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(value))
	if _, err := c.Put(ctx, "example/own-lease/instance-2", string(value), etcd.AttachLease(s.Lease())); err != nil {
		log.Fatal(err)
	}
	eps, err := naming.List(ctx, c, "example/own-lease")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(eps["example/own-lease/instance-2"])

	var ep naming.Endpoint
	fmt.Println(ep.UnmarshalJSON([]byte(`{"Op":1,"Addr":"10.0.0.2:80"}`)) != nil) // a deletion record
	// Output:
	// {"Op":0,"Addr":"10.0.0.2:80","Metadata":"blue"}
	// {10.0.0.2:80 blue}
	// true
}

// Register instances on a lease the program already keeps alive: a session's (AttachSession),
// so that one keep-alive serves the process's registrations, locks and elections, or a lease
// of its own (AttachLease). Close deletes the key and leaves the lease; Done is closed when the
// registration ends.
func ExampleAttachSession() {
	endpoints := strings.Split(os.Getenv("ETCDKIT_EXAMPLE_ENDPOINTS"), ",")
	c, err := etcd.New(etcd.Config{Endpoints: endpoints})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	s, err := c.NewSession(ctx, etcd.TTL(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	onSession, err := naming.Register(ctx, c, "example/attached", "on-session",
		naming.Endpoint{Addr: "10.0.0.1:80"}, naming.AttachSession(s))
	if err != nil {
		log.Fatal(err)
	}
	lease, err := c.Grant(ctx, 10*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	onLease, err := naming.Register(ctx, c, "example/attached", "on-lease",
		naming.Endpoint{Addr: "10.0.0.2:80"}, naming.AttachLease(lease.ID))
	if err != nil {
		log.Fatal(err)
	}
	eps, err := naming.List(ctx, c, "example/attached")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("instances:", len(eps))

	if err := onSession.Close(); err != nil {
		log.Fatal(err)
	}
	<-onSession.Done()
	if err := onLease.Close(); err != nil {
		log.Fatal(err)
	}
	eps, err = naming.List(ctx, c, "example/attached")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("instances after Close:", len(eps))
	ttl, err := c.TimeToLive(ctx, lease.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the lease lives on:", ttl.TTL > 0)
	select {
	case <-s.Done():
		fmt.Println("session ended")
	default:
		fmt.Println("the session lives on")
	}
	// Output:
	// instances: 2
	// instances after Close: 0
	// the lease lives on: true
	// the session lives on
}
