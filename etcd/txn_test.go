//etcdkit:needs Lease

package etcd

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

func TestTxn(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()

	rev := mustPut(t, c, "t/k", "b")
	l, err := c.Grant(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, "t/leased", "x", AttachLease(l.ID))

	holds := []struct {
		name string
		cmp  Cmp
		want bool
	}{
		{"value equal", CompareValue(Key("t/k")).Equal("b"), true},
		{"value not equal", CompareValue(Key("t/k")).NotEqual("b"), false},
		{"value less", CompareValue(Key("t/k")).Less("c"), true},
		{"value greater", CompareValue(Key("t/k")).Greater("c"), false},
		{"version", CompareVersion(Key("t/k")).Equal(1), true},
		{"missing key has version 0", CompareVersion(Key("t/none")).Equal(0), true},
		{"create revision", CompareCreateRevision(Key("t/k")).Equal(rev), true},
		{"mod revision less", CompareModRevision(Key("t/k")).Less(rev), false},
		{"mod revision greater", CompareModRevision(Key("t/k")).Greater(rev - 1), true},
		{"lease", CompareLease(Key("t/leased")).Equal(int64(l.ID)), true},
		{"no lease", CompareLease(Key("t/k")).Equal(0), true},
		{"over a prefix", CompareVersion(Prefix("t/")).Greater(0), true},
	}
	for _, tt := range holds {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Txn(ctx, Txn{If: []Cmp{tt.cmp}})
			if err != nil || res.Succeeded != tt.want {
				t.Fatalf("Succeeded = %v, %v; want %v", res.Succeeded, err, tt.want)
			}
		})
	}

	t.Run("then and else results per operation", func(t *testing.T) {
		res, err := c.Txn(ctx, Txn{
			If:   []Cmp{CompareValue(Key("t/k")).Equal("b")},
			Then: []Op{OpPut("t/k", "c", PrevKV()), OpGet(Key("t/k")), OpDelete(Key("t/leased"), PrevKV())},
			Else: []Op{OpGet(Key("t/k"))},
		})
		if err != nil || !res.Succeeded || len(res.Results) != 3 {
			t.Fatalf("txn = %+v, %v", res, err)
		}
		if p := res.Results[0].Put; p == nil || p.PrevKV == nil || string(p.PrevKV.Value) != "b" {
			t.Fatalf("put result = %+v", res.Results[0])
		}
		if g := res.Results[1].Get; g == nil || len(g.KVs) != 1 || string(g.KVs[0].Value) != "c" {
			t.Fatalf("get result = %+v", res.Results[1])
		}
		if d := res.Results[2].Delete; d == nil || d.Deleted != 1 || string(d.PrevKVs[0].Value) != "x" {
			t.Fatalf("delete result = %+v", res.Results[2])
		}
		res, err = c.Txn(ctx, Txn{If: []Cmp{CompareValue(Key("t/k")).Equal("b")}, Then: []Op{OpPut("t/k", "never")}, Else: []Op{OpGet(Key("t/k"))}})
		if err != nil || res.Succeeded || string(res.Results[0].Get.KVs[0].Value) != "c" {
			t.Fatalf("else branch = %+v, %v", res, err)
		}
	})

	t.Run("nested txn", func(t *testing.T) {
		res, err := c.Txn(ctx, Txn{Then: []Op{OpTxn(Txn{
			If:   []Cmp{CompareVersion(Key("t/nested")).Equal(0)},
			Then: []Op{OpPut("t/nested", "1")},
		})}})
		if err != nil || !res.Succeeded || res.Results[0].Txn == nil || !res.Results[0].Txn.Succeeded {
			t.Fatalf("nested txn = %+v, %v", res, err)
		}
		if kv, err := c.Get(ctx, "t/nested"); err != nil || string(kv.Value) != "1" {
			t.Fatalf("nested put not applied: %+v, %v", kv, err)
		}
	})

	t.Run("misuse returns errors and writes nothing", func(t *testing.T) {
		bad := []struct {
			name string
			txn  Txn
			want string
		}{
			{"zero cmp", Txn{If: []Cmp{{}}, Then: []Op{OpPut("t/bad", "x")}}, "If[0]: invalid argument: zero Cmp"},
			{"zero op", Txn{Then: []Op{OpPut("t/bad", "x"), {}}}, "Then[1]: invalid argument: zero Op"},
			{"empty key in else", Txn{Else: []Op{OpDelete(KeyRange{})}}, "Else[0]: invalid argument: empty key"},
			{"duplicate key", Txn{Then: []Op{OpPut("t/bad", "1"), OpPut("t/bad", "2")}}, "duplicate key"},
		}
		for _, tt := range bad {
			_, err := c.Txn(ctx, tt.txn)
			if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %v, want ErrInvalidArgument with %q", tt.name, err, tt.want)
			}
		}
		if _, err := c.Get(ctx, "t/bad"); !errors.Is(err, ErrKeyNotFound) {
			t.Fatalf("a refused txn wrote t/bad: %v", err)
		}
	})
}

func TestCompareAndSwap(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()

	res, err := c.PutIfAbsent(ctx, "cas/k", "first")
	if err != nil || !res.Succeeded || res.Current != nil {
		t.Fatalf("PutIfAbsent on a new key = %+v, %v", res, err)
	}
	res, err = c.PutIfAbsent(ctx, "cas/k", "second")
	if err != nil || res.Succeeded || res.Current == nil || string(res.Current.Value) != "first" {
		t.Fatalf("PutIfAbsent on an existing key = %+v, %v; want lost with current value", res, err)
	}

	res, err = c.SwapIfValue(ctx, "cas/k", "wrong", "x")
	if err != nil || res.Succeeded || string(res.Current.Value) != "first" {
		t.Fatalf("SwapIfValue with a wrong old value = %+v, %v", res, err)
	}
	res, err = c.SwapIfValue(ctx, "cas/k", "first", "second")
	if err != nil || !res.Succeeded {
		t.Fatalf("SwapIfValue = %+v, %v", res, err)
	}

	kv, _ := c.Get(ctx, "cas/k")
	res, err = c.SwapIfModRevision(ctx, "cas/k", kv.ModRevision-1, "stale")
	if err != nil || res.Succeeded || res.Current.ModRevision != kv.ModRevision {
		t.Fatalf("SwapIfModRevision with a stale revision = %+v, %v", res, err)
	}
	res, err = c.SwapIfModRevision(ctx, "cas/k", kv.ModRevision, "third")
	if err != nil || !res.Succeeded {
		t.Fatalf("SwapIfModRevision = %+v, %v", res, err)
	}

	res, err = c.DeleteIfValue(ctx, "cas/k", "second")
	if err != nil || res.Succeeded || string(res.Current.Value) != "third" {
		t.Fatalf("DeleteIfValue with a wrong value = %+v, %v", res, err)
	}
	kv, _ = c.Get(ctx, "cas/k")
	res, err = c.DeleteIfModRevision(ctx, "cas/k", kv.ModRevision)
	if err != nil || !res.Succeeded {
		t.Fatalf("DeleteIfModRevision = %+v, %v", res, err)
	}
	if _, err := c.Get(ctx, "cas/k"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("key survived DeleteIfModRevision: %v", err)
	}
	res, err = c.DeleteIfValue(ctx, "cas/k", "third")
	if err != nil || res.Succeeded || res.Current != nil {
		t.Fatalf("DeleteIfValue on a missing key = %+v, %v; want lost, no current", res, err)
	}
	_, err = c.PutIfAbsent(ctx, "", "x")
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "put if absent") {
		t.Fatalf("PutIfAbsent with an empty key = %v", err)
	}
}
