// Package etcd is a small etcd v3 client over etcdkit's generated stubs, with nothing but grpc
// and protobuf underneath: KV, transactions and compare-and-swap, leases and keep-alives,
// watches, list-watch and mirrors, sessions, locks, elections, optimistic transactions
// (Update), sequential keys, namespaces, and the operator API (members, alarms, status,
// maintenance, snapshots, downgrades, auth and its users and roles). Sub-packages: etcdtls
// (TLS), naming (service registration and a gRPC resolver), etcdtest (real servers for tests;
// not vendored).
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
// One gRPC connection balances calls round-robin over the endpoints in use. The client judges
// each member by what it does, not by its connection: a linearizable probe every 500 ms takes
// a member that does not answer within 500 ms, or answers without a leader, out of the
// rotation for every call and stream, and brings it back when it answers again
// (Client.EndpointStates shows the state). With more than one endpoint the client follows the
// cluster's member list, so members added later are used and removed ones dropped
// (Config.StaticEndpoints opts out). Reads are retried on the next endpoint when one is
// unavailable, with jittered backoff, within the call's context. Writes (Put, Delete, Txn and
// the compare-and-swap calls) are sent at most once: they are retried only when the server
// refused them before applying (no leader, too many requests). A write that fails with
// ErrUnavailable or a context error may or may not have been applied; SafeToRetry tells.
//
// Every stream and dial lives under the client's lifetime: Close and a caller's cancel return
// at once whatever the network does. Calls wait for a ready connection within their context
// (nothing is sent before, so even a write may wait). A read without an answer after
// Config.ReadHedgeDelay is also sent to an endpoint it has not tried. Watch and keep-alive
// streams leave a member as soon as its probe takes it out of the rotation (about 1 s after
// it stops answering), and probe a silent stream themselves within about 2.5 s.
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
// One rule per kind of name; a reader who has met one of a kind can guess the rest.
//
//   - Calls that talk to etcd take ctx first. Key arguments are strings; a call on several keys takes a
//     KeyRange (Key, Prefix, FromKey, Between, All).
//   - Options are functions named for what they ask, without a With prefix: Limit(10),
//     AtRevision(5), PrevKV(), NoPut(), AttachLease(id), TTL(d), Isolation(l),
//     ProgressNotify(). Each call's options have an interface named after the call
//     (ReadOption, PutOption, DeleteOption, WatchOption, SessionOption, UpdateOption,
//     TimeToLiveOption); the sets are closed. An option that several calls take has a type
//     of its own that satisfies each of their interfaces: PrevKV's PrevKVOption (put, delete
//     and watch) is the only one, so that one name means one idea.
//   - Results: a call that gets a response header from etcd returns it, in the Header field
//     of its result (PutResult, RangeResult, Lease, Status, AuthStatus, ...) or as a Header
//     value: (Header, error) for a call with nothing else to report (Revoke, Compact,
//     Defragment, AuthEnable, UserAdd, ...) and ([]T, Header, error) for a list. Three kinds
//     of call return no header: Get and the recipes' reads (Election.Leader, Client.Append),
//     which return the KeyValue whose ModRevision says when it was written (use Range for the
//     header); the recipes' writes (Mutex.Lock, Election.Campaign, Proclaim, Resign), whose
//     revision is FencingToken; and streams (Watch yields Events; WatchResponses yields the
//     headers).
//   - Lists are named <Thing>List: MemberList, UserList, RoleList, AlarmList, LeaseList.
//     Operator calls are named <Noun><Verb> after etcd's RPCs (MemberAdd, AlarmDisarm,
//     RoleGrantPermission, DowngradeEnable), so an etcdctl user finds them by the command.
//   - Iterators (Scan, Watch, ListWatch, RangeStream, Appended, Observe) yield (T, error),
//     end at break or when ctx ends, and yield the error that ended them last.
//   - A method named Is... returns a bool; one that returns a Cmp for a transaction's If ends
//     in Cmp (Mutex.OwnerCmp, Election.LeaderCmp). A fencing token is FencingToken everywhere.
//   - Permissions (RoleGrantPermission, RoleRevokePermission, RoleGet) name raw keys: they
//     bypass Config.Namespace, because a role is the cluster's, not the client's.
//
// # Close and zero values
//
// A type that owns a goroutine, a stream or a lease has Close. Close is idempotent, returns an
// error, and returns once the type's goroutines have exited, at once whatever the network
// does: Client and Mirror; the session kinds (Session, naming.Registration) also give their
// lease or key back, within the bound their Close states. Every goroutine of package etcd
// lives under its client's lifetime, so Client.Close stops and waits for all of them, a
// Mirror's included. A KeepAlive has no Close: it ends with the context it was started with. The zero Client and
// the zero Error are safe: Close on a zero Client returns nil, and (&Error{}).Error() is
// "etcd: error".
//
// # Errors
//
// The package has one table of errors (errors.go): every error it returns wraps one of its
// sentinels (ErrKeyNotFound, ErrCompacted, ErrPermissionDenied, ErrConfig, ...) or a context
// error; match with errors.Is. A failed call returns an *Error naming the operation and the
// key; the gRPC status stays reachable through status.FromError. ErrNoLeader means a raft
// member without a leader (safe to retry); ErrNotElected means this client does not lead an
// Election.
//
// # Coming from clientv3
//
// README.md's "From clientv3" section maps each clientv3 call to its form here. The
// differences that change behaviour: Get of a missing key, in a Client or inside Update's
// Tx, is ErrKeyNotFound where clientv3 returns an empty response (its STM's Get returns "",
// which ported code mistakes for an empty value); writes are never resent once sent; Unlock
// and Resign check ownership; a watch cut off by compaction ends with ErrCompacted rather
// than a response flag.
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
// over the stubs of any release from 3.4.23 on. Mutex, Election and Session need only KV,
// Lease and Watch: they are the client-side recipes, not etcd's Lock and Election services.
//
// # Compatibility
//
// The exported API is frozen at v1 (Version): testdata/api lists it, a test compares the
// package with the listing, and CHANGELOG.md names every change.
//
// # Limits
//
// A single response is capped at Config.MaxResponseBytes (gRPC's 4 MiB by default) and a
// request at the server's --max-request-bytes (1.5 MiB by default): read large ranges with
// Scan. Lease TTLs are whole seconds, at least one.
package etcd
