// Package harness runs the benchmark's workloads against one client library and measures
// them: throughput, latency, and the client's own CPU, allocations and memory. Each library
// is adapted to Client by a small package (kitclient, v3client, rawclient), and each runs in
// its own process (cmd/bench-*), so that getrusage and runtime.MemStats see one client only.
package harness

import (
	"context"
	"time"
)

// Client is one client library, adapted to the operations the workloads need. Every method
// is safe for concurrent use. The adapters do the same work on the wire, so that the
// figures compare the libraries, not the requests.
type Client interface {
	// Put writes value under key.
	Put(ctx context.Context, key, value string) error
	// Get reads one key (a linearizable range of a single key).
	Get(ctx context.Context, key string) error
	// CAS runs the transaction "if value(key) == value then put key=value else get key".
	CAS(ctx context.Context, key, value string) error
	// Revision returns the store's current revision.
	Revision(ctx context.Context) (int64, error)
	// Watch watches the keys under prefix from revision from and calls event for each put,
	// until event returns false (then Watch returns nil) or the watch fails.
	Watch(ctx context.Context, prefix string, from int64, event func(key, value []byte) bool) error
	// NewLocker returns one lock contender on the lock name, with its own session.
	NewLocker(ctx context.Context, name string) (Locker, error)
	// Grant grants a lease of ttl and returns its ID.
	Grant(ctx context.Context, ttl time.Duration) (int64, error)
	// KeepAlive keeps lease id alive in the background until ctx ends.
	KeepAlive(ctx context.Context, id int64) error
	// TTL returns the remaining time to live of lease id, -1 when it is gone.
	TTL(ctx context.Context, id int64) (int64, error)
	// Revoke ends lease id.
	Revoke(ctx context.Context, id int64) error
	// List reads every key under prefix and calls each with every key-value, in key order,
	// the way workload says: List streamed (etcdkit's Scan, clientv3's GetStream, the stubs'
	// RangeStream), ListPaged in 1,000-key Range pages at one revision, ListSingle as one
	// response. It returns the number of keys read.
	List(ctx context.Context, prefix, workload string, each func(key, value []byte)) (int, error)
	// WatchKeys starts one watcher per key, each from revision from, and calls event(i, value)
	// for every put on keys[i], from any goroutine. It returns once the watchers are started
	// (not necessarily established); stop ends them and waits for their goroutines.
	WatchKeys(ctx context.Context, keys []string, from int64, event func(i int, value []byte)) (stop func(), err error)
	// Close releases the client.
	Close() error
}

// Locker is one contender for a lock, over its own session.
type Locker interface {
	Lock(ctx context.Context) error
	Unlock(ctx context.Context) error
	// Close ends the contender's session.
	Close() error
}

// NewFunc makes a client for the given endpoints, with its receive limit raised to
// maxResponse bytes when that is not 0. Only the list workload's single response needs it:
// grpc-go allocates on every call that carries a receive limit, so the other workloads run
// with each library's default.
type NewFunc func(endpoints []string, maxResponse int) (Client, error)

// MaxResponse is the receive limit of the list workload's single response (100,000 keys of
// 1 KiB).
const MaxResponse = 512 << 20
