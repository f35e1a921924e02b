package etcd

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

func TestScanReadsMoreThanOneMessage(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()

	const n, size = 170, 64 << 10 // 10.6 MiB under the prefix, over 2.5 times gRPC's 4 MiB
	value := func(i int) string { return string(bytes.Repeat([]byte{byte('a' + i%26)}, size)) }
	for i := range n {
		mustPut(t, c, fmt.Sprintf("big/%04d", i), value(i))
	}
	if _, err := c.Range(ctx, Prefix("big/")); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("one Range of 10 MiB = %v, want ErrResponseTooLarge", err)
	}

	i := 0
	for kv, err := range c.Scan(ctx, Prefix("big/")) {
		if err != nil {
			t.Fatalf("Scan after %d keys: %v", i, err)
		}
		if want := fmt.Sprintf("big/%04d", i); string(kv.Key) != want || string(kv.Value) != value(i) {
			t.Fatalf("key %d = %q (%d bytes), want %q", i, kv.Key, len(kv.Value), want)
		}
		if i == 0 {
			// Written after the scan started: the scan reads at its first page's revision.
			mustPut(t, c, "big/0000a", "late")
		}
		i++
	}
	if i != n {
		t.Fatalf("Scan yielded %d keys, want %d", i, n)
	}

	// Small pages, keys only, and breaking out early.
	got := 0
	for kv, err := range c.Scan(ctx, Prefix("big/"), Limit(7), KeysOnly()) {
		if err != nil || len(kv.Value) != 0 {
			t.Fatalf("keys-only scan: %q, %v", kv.Value, err)
		}
		if got++; got == 20 {
			break
		}
	}
	if got != 20 {
		t.Fatalf("break after 20 keys ran %d", got)
	}

	for _, err := range c.Scan(ctx, Prefix("big/"), Sort(SortByValue, Descend)) {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("Scan with Sort = %v, want ErrInvalidArgument", err)
		}
	}
}
