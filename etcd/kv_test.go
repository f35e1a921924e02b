//etcdkit:needs Lease

package etcd

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

func TestKV(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()

	t.Run("missing key is distinguishable from empty value", func(t *testing.T) {
		_, err := c.Get(ctx, "kv/missing")
		if !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), `get "kv/missing"`) {
			t.Fatalf("Get missing = %v, want ErrKeyNotFound naming the key", err)
		}
		mustPut(t, c, "kv/empty", "")
		kv, err := c.Get(ctx, "kv/empty")
		if err != nil || len(kv.Value) != 0 || string(kv.Key) != "kv/empty" {
			t.Fatalf("Get empty value = %+v, %v", kv, err)
		}
	})

	t.Run("put then get reads back value and revisions", func(t *testing.T) {
		rev1 := mustPut(t, c, "kv/a", "1")
		rev2 := mustPut(t, c, "kv/a", "2")
		kv, err := c.Get(ctx, "kv/a")
		if err != nil {
			t.Fatal(err)
		}
		if string(kv.Value) != "2" || kv.CreateRevision != rev1 || kv.ModRevision != rev2 || kv.Version != 2 {
			t.Fatalf("got %+v, want value 2, create %d, mod %d, version 2", kv, rev1, rev2)
		}
		old, err := c.Get(ctx, "kv/a", AtRevision(rev1))
		if err != nil || string(old.Value) != "1" {
			t.Fatalf("Get at revision %d = %+v, %v; want value 1", rev1, old, err)
		}
	})

	t.Run("range options", func(t *testing.T) {
		var revs []int64
		for _, k := range []string{"r/c", "r/a", "r/b", "r/d"} {
			revs = append(revs, mustPut(t, c, k, strings.ToUpper(k)))
		}
		mustPut(t, c, "r0", "outside the prefix")

		res, err := c.Range(ctx, Prefix("r/"))
		if err != nil || !slices.Equal(keysOf(res.KVs), []string{"r/a", "r/b", "r/c", "r/d"}) || res.Count != 4 {
			t.Fatalf("Range prefix = %v (count %d), %v", keysOf(res.KVs), res.Count, err)
		}
		res, err = c.Range(ctx, Prefix("r/"), Limit(2))
		if err != nil || len(res.KVs) != 2 || !res.More || res.Count != 4 {
			t.Fatalf("Range limit 2 = %v more=%v count=%d, %v", keysOf(res.KVs), res.More, res.Count, err)
		}
		res, err = c.Range(ctx, Prefix("r/"), Sort(SortByCreateRevision, Descend))
		if err != nil || !slices.Equal(keysOf(res.KVs), []string{"r/d", "r/b", "r/a", "r/c"}) {
			t.Fatalf("Range sorted by create desc = %v, %v", keysOf(res.KVs), err)
		}
		res, err = c.Range(ctx, Prefix("r/"), Sort(SortByValue, Ascend), KeysOnly())
		if err != nil || len(res.KVs) != 4 || len(res.KVs[0].Value) != 0 || string(res.KVs[0].Key) != "r/a" {
			t.Fatalf("Range keys only = %+v, %v", res.KVs, err)
		}
		res, err = c.Range(ctx, Prefix("r/"), CountOnly())
		if err != nil || len(res.KVs) != 0 || res.Count != 4 {
			t.Fatalf("Range count only = %d kvs, count %d, %v", len(res.KVs), res.Count, err)
		}
		res, err = c.Range(ctx, Prefix("r/"), Serializable())
		if err != nil || res.Count != 4 {
			t.Fatalf("Range serializable = %d, %v", res.Count, err)
		}
		res, err = c.Range(ctx, Prefix("r/"), CreateRevisionBetween(revs[1], revs[2]))
		if err != nil || !slices.Equal(keysOf(res.KVs), []string{"r/a", "r/b"}) {
			t.Fatalf("Range create revision filter = %v, %v", keysOf(res.KVs), err)
		}
		res, err = c.Range(ctx, Prefix("r/"), ModRevisionBetween(revs[3], 0))
		if err != nil || !slices.Equal(keysOf(res.KVs), []string{"r/d"}) {
			t.Fatalf("Range mod revision filter = %v, %v", keysOf(res.KVs), err)
		}
		res, err = c.Range(ctx, Between("r/b", "r/d"))
		if err != nil || !slices.Equal(keysOf(res.KVs), []string{"r/b", "r/c"}) {
			t.Fatalf("Range [r/b, r/d) = %v, %v", keysOf(res.KVs), err)
		}
		res, err = c.Range(ctx, FromKey("r/d"))
		if err != nil || !slices.Equal(keysOf(res.KVs), []string{"r/d", "r0"}) {
			t.Fatalf("Range from r/d = %v, %v", keysOf(res.KVs), err)
		}
		_, err = c.Range(ctx, Between("r/d", "r/a"))
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "inverted range [r/d, r/a)") {
			t.Fatalf("inverted range = %v, want ErrInvalidArgument naming it", err)
		}
	})

	t.Run("binary keys", func(t *testing.T) {
		key := "bin/\x00\xff\x01"
		mustPut(t, c, key, "\xff\x00")
		res, err := c.Range(ctx, Prefix("bin/\x00"))
		if err != nil || len(res.KVs) != 1 || string(res.KVs[0].Key) != key || string(res.KVs[0].Value) != "\xff\x00" {
			t.Fatalf("binary range = %+v, %v", res.KVs, err)
		}
	})

	t.Run("put options", func(t *testing.T) {
		l, err := c.Grant(ctx, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		mustPut(t, c, "p/k", "v1")
		res, err := c.Put(ctx, "p/k", "v2", PrevKV(), AttachLease(l.ID))
		if err != nil || res.PrevKV == nil || string(res.PrevKV.Value) != "v1" || res.Lease != l.ID {
			t.Fatalf("Put prev kv = %+v, %v", res, err)
		}
		if _, err := c.Put(ctx, "p/k", "", IgnoreValue(), AttachLease(l.ID)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Put(ctx, "p/k", "v3", IgnoreLease()); err != nil {
			t.Fatal(err)
		}
		kv, err := c.Get(ctx, "p/k")
		if err != nil || string(kv.Value) != "v3" || kv.Lease != l.ID || kv.Version != 4 {
			t.Fatalf("after ignore value and lease: %+v, %v; want v3 on lease %v, version 4", kv, err, l.ID)
		}
		_, err = c.Put(ctx, "p/none", "", IgnoreValue())
		if !errors.Is(err, ErrInvalidArgument) && !errors.Is(err, ErrKeyNotFound) {
			t.Fatalf("IgnoreValue on a missing key = %v, want an invalid argument error", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		for _, k := range []string{"d/a", "d/b", "d/c"} {
			mustPut(t, c, k, k)
		}
		res, err := c.Delete(ctx, Key("d/a"), PrevKV())
		if err != nil || res.Deleted != 1 || len(res.PrevKVs) != 1 || string(res.PrevKVs[0].Value) != "d/a" {
			t.Fatalf("Delete one = %+v, %v", res, err)
		}
		res, err = c.Delete(ctx, Prefix("d/"))
		if err != nil || res.Deleted != 2 || res.PrevKVs != nil {
			t.Fatalf("Delete prefix = %+v, %v", res, err)
		}
		if n, _ := c.Range(ctx, Prefix("d/"), CountOnly()); n.Count != 0 {
			t.Fatalf("%d keys left after delete", n.Count)
		}
	})

	t.Run("empty key is rejected before sending", func(t *testing.T) {
		_, err := c.Put(ctx, "", "v")
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "empty key") {
			t.Fatalf("Put empty key = %v", err)
		}
		if _, err := c.Delete(ctx, KeyRange{}); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Delete empty range = %v", err)
		}
	})

	t.Run("compacted and future revisions", func(t *testing.T) {
		rev := mustPut(t, c, "cmp/k", "1")
		now := mustPut(t, c, "cmp/k", "2")
		if _, err := c.Compact(ctx, now); err != nil {
			t.Fatal(err)
		}
		_, err := c.Get(ctx, "cmp/k", AtRevision(rev))
		if !errors.Is(err, ErrCompacted) {
			t.Fatalf("read below compaction = %v, want ErrCompacted", err)
		}
		_, err = c.Get(ctx, "cmp/k", AtRevision(now+1000))
		if !errors.Is(err, ErrFutureRevision) {
			t.Fatalf("read of a future revision = %v, want ErrFutureRevision", err)
		}
	})

	t.Run("request too large", func(t *testing.T) {
		_, err := c.Put(ctx, "big", strings.Repeat("x", 2<<20))
		if !errors.Is(err, ErrRequestTooLarge) || !strings.Contains(err.Error(), `put "big"`) {
			t.Fatalf("2 MiB put = %v, want ErrRequestTooLarge", err)
		}
		if _, err := c.Get(ctx, "big"); !errors.Is(err, ErrKeyNotFound) {
			t.Fatalf("the refused put left a key: %v", err)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := c.Get(cctx, "kv/a")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with cancelled ctx = %v", err)
		}
	})
}
