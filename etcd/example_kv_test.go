package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"google.golang.org/grpc/status"

	"github.com/etcdkit/etcdkit/etcd"
)

// connect returns a client of the examples' server; in a program it is
// etcd.New(etcd.Config{Endpoints: []string{"127.0.0.1:2379"}}).
func connect() *etcd.Client {
	c, err := etcd.New(etcd.Config{Endpoints: endpoints()})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// Key ranges: one key, a prefix, [from, to), from a key on, and the whole keyspace.
func ExampleKeyRange() {
	fmt.Printf("%v %q\n", etcd.Key("a").IsSingle(), etcd.Key("a"))
	fmt.Printf("%v %q\n", etcd.Prefix("app/").IsSingle(), etcd.Prefix("app/"))
	fmt.Printf("%q\n", etcd.Between("a", "c"))
	fmt.Printf("%q\n", etcd.FromKey("m"))
	fmt.Printf("%q\n", etcd.All())
	fmt.Printf("%q\n", etcd.PrefixEnd([]byte("app/")))
	// Output:
	// true "a"
	// false "[app/, app0)"
	// "[a, c)"
	// "[m, \x00)"
	// "[\x00, \x00)"
	// "app0"
}

// Read options: a past revision, sorting, keys or counts only, serializable reads, and
// filters on revisions.
func ExampleReadOption() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	first, err := c.Put(ctx, "ro/a", "1")
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range []string{"ro/b", "ro/c"} {
		if _, err := c.Put(ctx, k, "2"); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := c.Put(ctx, "ro/a", "3"); err != nil {
		log.Fatal(err)
	}
	show := func(what string, opts ...etcd.ReadOption) {
		res, err := c.Range(ctx, etcd.Prefix("ro/"), opts...)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-22s count=%d", what, res.Count)
		for _, kv := range res.KVs {
			fmt.Printf(" %s=%q", kv.Key, kv.Value)
		}
		fmt.Println()
	}
	show("at the first put", etcd.AtRevision(first.Header.Revision))
	show("by value, descending", etcd.Sort(etcd.SortByValue, etcd.Descend), etcd.Limit(2))
	show("keys only", etcd.KeysOnly())
	show("count only", etcd.CountOnly())
	show("serializable", etcd.Serializable(), etcd.Limit(1))
	show("modified since b", etcd.ModRevisionBetween(first.Header.Revision+1, 0))
	show("created first", etcd.CreateRevisionBetween(0, first.Header.Revision))
	// Output:
	// at the first put       count=1 ro/a="1"
	// by value, descending   count=3 ro/a="3" ro/b="2"
	// keys only              count=3 ro/a="" ro/b="" ro/c=""
	// count only             count=3
	// serializable           count=3 ro/a="3"
	// modified since b       count=3 ro/a="3" ro/b="2" ro/c="2"
	// created first          count=3 ro/a="3"
}

// Put options: attach a lease, keep the value or the lease, and get the previous value.
func ExamplePutOption() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	l, err := c.Grant(ctx, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Revoke(ctx, l.ID)
	if _, err := c.Put(ctx, "po/k", "v1", etcd.AttachLease(l.ID)); err != nil {
		log.Fatal(err)
	}
	res, err := c.Put(ctx, "po/k", "v2", etcd.IgnoreLease(), etcd.PrevKV())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("replaced %q; same lease: %v\n", res.PrevKV.Value, res.PrevKV.Lease == l.ID)
	if _, err := c.Put(ctx, "po/k", "", etcd.IgnoreValue()); err != nil {
		log.Fatal(err)
	}
	kv, err := c.Get(ctx, "po/k")
	if err != nil {
		log.Fatal(err)
	}
	// A put without IgnoreLease detaches the key from its lease.
	fmt.Printf("value %q, version %d, on the lease: %v\n", kv.Value, kv.Version, kv.Lease == l.ID)
	del, err := c.Delete(ctx, etcd.Prefix("po/"), etcd.PrevKV())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted", del.Deleted, "last value", string(del.PrevKVs[0].Value))
	// Output:
	// replaced "v1"; same lease: true
	// value "v2", version 3, on the lease: false
	// deleted 1 last value v2
}

// The compare-and-swap calls on a value and on a revision.
func ExampleClient_SwapIfValue() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	put, err := c.Put(ctx, "cas/k", "a")
	if err != nil {
		log.Fatal(err)
	}
	won, err := c.SwapIfValue(ctx, "cas/k", "a", "b")
	if err != nil {
		log.Fatal(err)
	}
	lost, err := c.SwapIfModRevision(ctx, "cas/k", put.Header.Revision, "c")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("swap a->b:", won.Succeeded, "| swap at the old revision:", lost.Succeeded, "now", string(lost.Current.Value))
	kept, err := c.DeleteIfValue(ctx, "cas/k", "a")
	if err != nil {
		log.Fatal(err)
	}
	gone, err := c.DeleteIfModRevision(ctx, "cas/k", kept.Current.ModRevision)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("delete if a:", kept.Succeeded, "| delete at its revision:", gone.Succeeded)
	// Output:
	// swap a->b: true | swap at the old revision: false now b
	// delete if a: false | delete at its revision: true
}

// Comparisons and nested transactions.
func ExampleCompareValue() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	if _, err := c.Put(ctx, "cmp/k", "m"); err != nil {
		log.Fatal(err)
	}
	k := etcd.Key("cmp/k")
	for _, cmp := range []etcd.Cmp{
		etcd.CompareValue(k).NotEqual("x"),
		etcd.CompareValue(k).Less("z"),
		etcd.CompareValue(k).Greater("a"),
		etcd.CompareVersion(k).Equal(1),
		etcd.CompareCreateRevision(k).Greater(0),
		etcd.CompareModRevision(k).Less(1 << 40),
		etcd.CompareLease(k).NotEqual(1),
		etcd.CompareVersion(k).Greater(1),
	} {
		res, err := c.Txn(ctx, etcd.Txn{If: []etcd.Cmp{cmp}})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(res.Succeeded, ";")
	}
	fmt.Println()
	res, err := c.Txn(ctx, etcd.Txn{Then: []etcd.Op{
		etcd.OpTxn(etcd.Txn{Then: []etcd.Op{etcd.OpDelete(k)}}),
	}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("nested delete:", res.Results[0].Txn.Results[0].Delete.Deleted)
	// Output:
	// true;true;true;true;true;true;true;false;
	// nested delete: 1
}

// Scan reads a range of any size at one revision, page by page; RangeStream has the server
// send it in chunks (etcd 3.7; older servers get pages).
func ExampleClient_Scan() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	for i := range 5 {
		if _, err := c.Put(ctx, fmt.Sprintf("scan/%d", i), "x"); err != nil {
			log.Fatal(err)
		}
	}
	n := 0
	for kv, err := range c.Scan(ctx, etcd.Prefix("scan/"), etcd.Limit(2)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(string(kv.Key), " ")
		n++
	}
	fmt.Println(n)
	m := 0
	for res, err := range c.RangeStream(ctx, etcd.Prefix("scan/")) {
		if errors.Is(err, etcd.ErrNotSupported) {
			m = n // before etcd 3.7: Scan's pages are the way
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		m += len(res.KVs)
	}
	fmt.Println("streamed", m)
	// Output:
	// scan/0 scan/1 scan/2 scan/3 scan/4 5
	// streamed 5
}

// Compact discards old revisions; reading one is then ErrCompacted.
func ExampleClient_Compact() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	old, err := c.Put(ctx, "compact/k", "1")
	if err != nil {
		log.Fatal(err)
	}
	now, err := c.Put(ctx, "compact/k", "2")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Compact(ctx, now.Header.Revision); err != nil {
		log.Fatal(err)
	}
	_, err = c.Range(ctx, etcd.Key("compact/k"), etcd.AtRevision(old.Header.Revision))
	fmt.Println(errors.Is(err, etcd.ErrCompacted))
	// Output:
	// true
}

// Sequential keys, python-etcd's in-order directories.
func ExampleClient_Append() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	for _, job := range []string{"first", "second", "third"} {
		if _, err := c.Append(ctx, "queue", job); err != nil {
			log.Fatal(err)
		}
	}
	for kv, err := range c.Appended(ctx, "queue") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(string(kv.Value), " ")
	}
	fmt.Println()
	// Output:
	// first second third
}

// Every error is an *Error wrapping a sentinel: match with errors.Is, read the operation
// with errors.As, and reach the gRPC status.
func ExampleError() {
	c := connect()
	ctx := context.Background()

	_, err := c.Range(ctx, etcd.Key("err/k"), etcd.AtRevision(1<<40))
	var e *etcd.Error
	if errors.As(err, &e) {
		fmt.Println(e.Op, errors.Is(e.Unwrap(), etcd.ErrFutureRevision), e.GRPCStatus() != nil, status.Code(err))
	}
	fmt.Println(err)
	fmt.Println("safe to resend:", etcd.SafeToRetry(err))
	fmt.Println(len(c.Endpoints()), "endpoint")
	c.Close()
	_, err = c.Put(ctx, "err/k", "v")
	fmt.Println(err, etcd.SafeToRetry(err))
	// Output:
	// range true true OutOfRange
	// etcd: range "err/k": required revision is a future revision (OutOfRange: etcdserver: mvcc: required revision is a future revision)
	// safe to resend: false
	// 1 endpoint
	// etcd: put "err/k": client is closed true
}

// Config.Namespace puts every key of a client under a prefix, as clientv3's namespace
// package does: the client sees and writes its own keys only, without the prefix.
func ExampleConfig_namespace() {
	c := connect()
	defer c.Close()
	tenant, err := etcd.New(etcd.Config{Endpoints: endpoints(), Namespace: "tenants/a/"})
	if err != nil {
		log.Fatal(err)
	}
	defer tenant.Close()
	ctx := context.Background()

	if _, err := tenant.Put(ctx, "cfg", "1"); err != nil {
		log.Fatal(err)
	}
	kv, err := c.Get(ctx, "tenants/a/cfg")
	if err != nil {
		log.Fatal(err)
	}
	res, err := tenant.Range(ctx, etcd.All())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("stored at %s; the tenant sees %q\n", kv.Key, res.KVs[0].Key)
	// Output:
	// stored at tenants/a/cfg; the tenant sees "cfg"
}

// The endpoints' health, for a health check or metrics: whether calls go to each endpoint
// and, when not, why (it did not answer its probe, has no leader, belongs to another cluster).
func ExampleClient_EndpointStates() {
	c := connect()
	defer c.Close()
	if _, err := c.Get(context.Background(), "any"); err != nil && !errors.Is(err, etcd.ErrKeyNotFound) {
		log.Fatal(err)
	}
	for _, st := range c.EndpointStates() {
		fmt.Printf("first endpoint: %v, in use: %v, reason: %q\n", st.Endpoint == c.Endpoints()[0], st.InUse, st.Reason)
	}
	// Output:
	// first endpoint: true, in use: true, reason: ""
}
