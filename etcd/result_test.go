//etcdkit:needs Lease

package etcd

import (
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestTxnResultPutLease: a put inside a transaction reports the lease it attached, in either
// branch and in a nested transaction, as a plain Put does.
func TestTxnResultPutLease(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	l, err := c.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		txn  Txn
	}{
		{"then", Txn{Then: []Op{OpGet(Key("rl/a")), OpPut("rl/a", "1", AttachLease(l.ID))}}},
		{"else", Txn{
			If:   []Cmp{CompareVersion(Key("rl/none")).Greater(0)},
			Then: []Op{OpPut("rl/a", "x")},
			Else: []Op{OpGet(Key("rl/a")), OpPut("rl/a", "2", AttachLease(l.ID))},
		}},
		{"nested", Txn{Then: []Op{OpGet(Key("rl/a")), OpTxn(Txn{Then: []Op{OpPut("rl/a", "3", AttachLease(l.ID))}})}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Txn(ctx, tc.txn)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Results) != 2 {
				t.Fatalf("%d results, want 2", len(res.Results))
			}
			put := res.Results[1].Put
			if nested := res.Results[1].Txn; nested != nil && len(nested.Results) == 1 {
				put = nested.Results[0].Put
			}
			if put == nil || put.Lease != l.ID {
				t.Fatalf("put result = %+v, want lease %v", put, l.ID)
			}
		})
	}
	res, err := c.Txn(ctx, Txn{Then: []Op{OpPut("rl/b", "v")}})
	if err != nil || res.Results[0].Put == nil || res.Results[0].Put.Lease != 0 {
		t.Fatalf("a put without a lease = %+v, %v; want lease 0", res, err)
	}
}
