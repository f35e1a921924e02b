package etcdtls_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/etcd/etcdtls"
)

// TestMain starts an etcd that serves TLS for the example and passes its endpoint and CA
// file on through the environment.
func TestMain(m *testing.M) {
	cl, err := etcdtest.Start(etcdtest.Options{TLS: true})
	if etcdtest.ServerOptional(err) {
		os.Exit(m.Run())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "the example needs a real etcd: %v\n", err)
		os.Exit(1)
	}
	os.Setenv("ETCDKIT_EXAMPLE_ENDPOINTS", strings.Join(cl.Endpoints(), ","))
	os.Setenv("ETCDKIT_EXAMPLE_CA", cl.TLS.CAFile)
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

// endpoints names the server TestMain started, as https:// URLs; in a program it is a list
// such as []string{"https://etcd-0.example:2379"}.
func endpoints() []string {
	var eps []string
	for _, ep := range strings.Split(os.Getenv("ETCDKIT_EXAMPLE_ENDPOINTS"), ",") {
		eps = append(eps, "https://"+ep)
	}
	return eps
}

// Connect to https:// endpoints, verifying the servers against a CA file. Without TLS in
// the config, New refuses https:// endpoints.
func Example() {
	tc, err := etcdtls.Load(os.Getenv("ETCDKIT_EXAMPLE_CA"), "", "") // a client certificate: its cert and key files
	if err != nil {
		log.Fatal(err)
	}
	c, err := etcd.New(etcd.Config{Endpoints: endpoints(), TLS: etcdtls.New(tc)})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Put(ctx, "tls/greeting", "hello"); err != nil {
		log.Fatal(err)
	}
	kv, err := c.Get(ctx, "tls/greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s = %s\n", kv.Key, kv.Value)

	_, err = etcd.New(etcd.Config{Endpoints: endpoints()})
	fmt.Println(errors.Is(err, etcd.ErrConfig))
	// The gRPC credentials, for a connection of your own to the same servers.
	fmt.Println(etcdtls.New(tc).TransportCredentials().Info().SecurityProtocol)
	// Output:
	// tls/greeting = hello
	// true
	// tls
}
