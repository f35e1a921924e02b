// Package etcd is a small etcd v3 client over etcdkit's generated stubs: KV, transactions,
// leases and sessions, with nothing but grpc and protobuf underneath.
//
// # Quickstart
//
//	c, err := etcd.New(etcd.Config{Endpoints: []string{"127.0.0.1:2379", "127.0.0.1:22379"}})
//	if err != nil { ... }          // a bad config; New never dials
//	defer c.Close()                // idempotent; waits for the client's goroutines
//
//	_, err = c.Put(ctx, "cfg/a", "1")
//	kv, err := c.Get(ctx, "cfg/a") // errors.Is(err, etcd.ErrKeyNotFound) when absent
//	res, err := c.Range(ctx, etcd.Prefix("cfg/"), etcd.Limit(10))
//	won, err := c.SwapIfValue(ctx, "cfg/a", "1", "2")
//	for kv, err := range c.Scan(ctx, etcd.Prefix("big/")) { ... } // any size, one revision
//
// # Endpoints and retries
//
// One gRPC connection balances calls round-robin over every endpoint that is up; a dead
// endpoint drops out until it reconnects. Reads are retried on the next endpoint when one is
// unavailable, with jittered backoff, within the call's context. Writes (Put, Delete, Txn and
// the compare-and-swap calls) are sent at most once: they are retried only when the server
// refused them before applying (no leader, too many requests). A write that fails with
// ErrUnavailable or a context error may or may not have been applied; SafeToRetry tells.
//
// # Errors
//
// Every failed call returns an *Error naming the operation and the key, wrapping a sentinel
// (ErrKeyNotFound, ErrCompacted, ErrPermissionDenied, ...) or a context error; match with
// errors.Is. The gRPC status stays reachable through status.FromError.
//
// # Limits
//
// A single response is capped at Config.MaxResponseBytes (gRPC's 4 MiB by default) and a
// request at the server's --max-request-bytes (1.5 MiB by default): read large ranges with
// Scan. Lease TTLs are whole seconds, at least one.
package etcd
