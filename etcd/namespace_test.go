//etcdkit:needs Lease

package etcd

import (
	"slices"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

func TestNamespace(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	raw := newClient(t, cl, Config{})
	ns := newClient(t, cl, Config{Namespace: "tenant/"})
	ctx := t.Context()

	mustPut(t, raw, "outside", "x")
	mustPut(t, raw, "tenant0", "just past the namespace")
	mustPut(t, ns, "a", "1")
	mustPut(t, ns, "b/c", "2")

	if kv, err := raw.Get(ctx, "tenant/a"); err != nil || string(kv.Value) != "1" {
		t.Fatalf("raw view of the namespaced key = %+v, %v", kv, err)
	}
	for name, r := range map[string]KeyRange{"all": All(), "from key": FromKey("a"), "empty prefix": Prefix("")} {
		res, err := ns.Range(ctx, r)
		if err != nil || !slices.Equal(keysOf(res.KVs), []string{"a", "b/c"}) {
			t.Fatalf("%s in the namespace = %v, %v", name, keysOf(res.KVs), err)
		}
	}
	res, err := ns.Range(ctx, Prefix("b/"))
	if err != nil || !slices.Equal(keysOf(res.KVs), []string{"b/c"}) {
		t.Fatalf("prefix in the namespace = %v, %v", keysOf(res.KVs), err)
	}
	var scanned []string
	for kv, err := range ns.Scan(ctx, All(), Limit(1)) {
		if err != nil {
			t.Fatal(err)
		}
		scanned = append(scanned, string(kv.Key))
	}
	if !slices.Equal(scanned, []string{"a", "b/c"}) {
		t.Fatalf("scan in the namespace = %v", scanned)
	}

	cas, err := ns.SwapIfValue(ctx, "a", "1", "2")
	if err != nil || !cas.Succeeded {
		t.Fatalf("CAS in the namespace = %+v, %v", cas, err)
	}
	txn, err := ns.Txn(ctx, Txn{If: []Cmp{CompareValue(Key("a")).Equal("nope")}, Else: []Op{OpGet(Key("a"))}})
	if err != nil || txn.Succeeded || string(txn.Results[0].Get.KVs[0].Key) != "a" {
		t.Fatalf("txn else-get key = %+v, %v; want the key without the namespace", txn, err)
	}

	put, err := ns.PutWithTTL(ctx, "leased", "v", time.Minute, PrevKV())
	if err != nil {
		t.Fatal(err)
	}
	info, err := ns.TimeToLive(ctx, put.Lease, AttachedKeys())
	if err != nil || len(info.Keys) != 1 || string(info.Keys[0]) != "leased" {
		t.Fatalf("lease keys in the namespace = %q, %v", info.Keys, err)
	}

	del, err := ns.Delete(ctx, All(), PrevKV())
	if err != nil || del.Deleted != 3 || !slices.Contains(keysOf(del.PrevKVs), "b/c") {
		t.Fatalf("delete all in the namespace = %+v, %v", del, err)
	}
	left, err := raw.Range(ctx, All())
	if err != nil || !slices.Equal(keysOf(left.KVs), []string{"outside", "tenant0"}) {
		t.Fatalf("keys outside the namespace after deleting all inside = %v, %v", keysOf(left.KVs), err)
	}
}
