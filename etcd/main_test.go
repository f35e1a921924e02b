package etcd

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/etcd/etcdtls"
)

// exampleEndpointsEnv passes the examples' server to example_test.go (package etcd_test).
const exampleEndpointsEnv = "ETCDKIT_EXAMPLE_ENDPOINTS"

// pureTests are the name prefixes of the tests that need no server: the API listing
// (api_test.go) and the table tests of range ends, errors, the config and the codec. TestMain
// runs them without etcd when the binary is missing outside CI and -run selects only them.
var pureTests = []string{
	"TestAPI", "TestPrefixEnd", "TestKeyRanges", "TestOpErrorMapping", "TestLargeResponseIsNamedForReads",
	"TestSafeToRetry", "TestReasonMessage", "TestOneClassification", "TestZeroValues",
	"TestNewValidatesConfig", "TestNilLoggerIsSilent", "TestCloseIsIdempotentAndFailsCalls", "TestCodec",
}

// TestMain starts the etcd server the examples print from, runs everything, and then checks
// that no goroutine outlived its test. Without an etcd binary it fails, except outside CI when
// -run selects only pure tests.
func TestMain(m *testing.M) {
	cl, err := etcdtest.Start(etcdtest.Options{})
	if etcdtest.ServerOptional(err, pureTests...) {
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

// newClient connects to cl (its endpoints unless cfg names some) and closes the client when
// the test ends.
func newClient(t testing.TB, cl *etcdtest.Cluster, cfg Config) *Client {
	t.Helper()
	if len(cfg.Endpoints) == 0 {
		cfg.Endpoints = cl.Endpoints()
	}
	if cfg.TLS == nil && cl.TLS != nil {
		cfg.TLS = etcdtls.New(cl.ClientTLS())
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// mustPut writes key=value or fails the test, returning the write's revision.
func mustPut(t testing.TB, c *Client, key, value string, opts ...PutOption) int64 {
	t.Helper()
	res, err := c.Put(t.Context(), key, value, opts...)
	if err != nil {
		t.Fatalf("Put %q: %v", key, err)
	}
	return res.Header.Revision
}

// hasField reports whether the stubs this package is built over define field name of m's
// message (fields of newer releases are read by name, and are zero over older stubs).
func hasField(m proto.Message, name protoreflect.Name) bool {
	return m.ProtoReflect().Descriptor().Fields().ByName(name) != nil
}

// keysOf returns the keys of kvs as strings.
func keysOf(kvs []KeyValue) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = string(kv.Key)
	}
	return out
}

// waitKeys waits until prefix holds n keys.
func waitKeys(t *testing.T, c *Client, prefix string, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if res, err := c.Range(t.Context(), Prefix(prefix), CountOnly()); err == nil && res.Count == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %d keys", prefix, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGone polls until key is deleted, failing after limit.
func waitGone(t *testing.T, c *Client, key string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		_, err := c.Get(t.Context(), key)
		if errors.Is(err, ErrKeyNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q still there after %v: %v", key, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
