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
// Every stream and dial lives under the client's lifetime: Close and a caller's cancel return
// at once whatever the network does. Calls wait for a ready connection within their context
// (nothing is sent before, so even a write may wait). A read without an answer after
// Config.ReadHedgeDelay is also sent to the next endpoint. Watch and keep-alive streams probe
// a silent member and leave it within about 2.5 s when it stops answering.
//
// # TLS
//
// Package etcd links no TLS code of its own, so that programs that talk plaintext do not
// carry it. For https:// endpoints, set Config.TLS with the sub-package etcdtls (New refuses
// https:// endpoints without it):
//
//	tc, err := etcdtls.Load("ca.pem", "client.pem", "client-key.pem") // or your own *tls.Config
//	c, err := etcd.New(etcd.Config{Endpoints: eps, TLS: etcdtls.New(tc)})
//
// Each endpoint is verified against its own host name unless the tls.Config sets ServerName.
//
// # Names
//
// One option name per idea across calls (PrevKV for put, delete and watch). A method named
// Is... returns a bool; one that returns a Cmp for a transaction's If ends in Cmp
// (Mutex.OwnerCmp, Election.LeaderCmp). A fencing token is FencingToken everywhere.
//
// # Files and stubs
//
// The package is split by the etcd services each file needs, so that it builds over any
// stub set that keeps KV (etcdkit-gen vendor copies only the files a keep-list allows): a
// file that needs more than KV says so on its first line, as in
//
//	//etcdkit:needs Lease,Watch
//
// Fields and RPCs that only newer releases have are reached by name, so the package builds
// over the stubs of any release from 3.4.23 on.
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
