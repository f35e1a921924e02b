package etcd_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/etcdkit/etcdkit/etcd"
)

// Hooks: gRPC dial options in Config add tracing, metrics or a custom dialer. Here an
// interceptor records the method of every call (it runs inside the client's retries, so a
// retried call is recorded once per attempt), and a dialer counts the connections it makes.
func ExampleConfig_dialOptions() {
	var (
		mu      sync.Mutex
		methods []string
		dials   atomic.Int64
	)
	record := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		mu.Lock()
		methods = append(methods, method)
		mu.Unlock()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	c, err := etcd.New(etcd.Config{
		Endpoints: endpoints(),
		DialOptions: []grpc.DialOption{
			grpc.WithChainUnaryInterceptor(record),
			grpc.WithContextDialer(dial),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	if _, err := c.Put(ctx, "hooks/a", "1"); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Get(ctx, "hooks/a"); err != nil {
		log.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Println(methods)
	fmt.Println("dialed through the custom dialer:", dials.Load() > 0)
	// Output:
	// [/etcdserverpb.KV/Put /etcdserverpb.KV/Range]
	// dialed through the custom dialer: true
}
