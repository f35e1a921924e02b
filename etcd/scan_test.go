package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
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
	var kept []KeyValue // one key of each page or chunk, kept while later ones arrive
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
		if i%10 == 0 {
			kept = append(kept, kv)
		}
		i++
	}
	if i != n {
		t.Fatalf("Scan yielded %d keys, want %d", i, n)
	}
	for j, kv := range kept {
		if want := fmt.Sprintf("big/%04d", j*10); string(kv.Key) != want || string(kv.Value) != value(j*10) {
			t.Fatalf("kept key %d changed after the scan: %q (%d bytes), want %q", j*10, kv.Key, len(kv.Value), want)
		}
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

// callCounter counts the Range calls and RangeStream streams a client makes, through
// interceptors chained after the client's own, and keeps the limit of the last Range.
type callCounter struct{ ranges, streams, limit atomic.Int64 }

func (n *callCounter) options() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if method == methodRange {
				n.ranges.Add(1)
				n.limit.Store(req.(*etcdserverpb.RangeRequest).GetLimit())
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			if method == "/etcdserverpb.KV/RangeStream" {
				n.streams.Add(1)
			}
			return streamer(ctx, desc, cc, method, opts...)
		}),
	}
}

// scanVersions are the releases Scan is tested against: with KV.RangeStream and without.
var scanVersions = []string{"", "v3.5.35"}

// TestScanAtOneRevision scans 3,000 keys of 1 KiB on a server with KV.RangeStream (streamed
// after the first page) and one without (paged), while the keys are written to: the scan
// yields exactly what a Range at its first page's revision holds.
func TestScanAtOneRevision(t *testing.T) {
	for _, version := range scanVersions {
		t.Run("etcd"+version, func(t *testing.T) {
			t.Parallel()
			cl := etcdtest.StartCluster(t, etcdtest.Options{Version: version})
			var calls callCounter
			c := newClient(t, cl, Config{DialOptions: calls.options()})
			ctx := t.Context()
			const n = 3000
			value := strings.Repeat("v", 1024)
			for i := range n {
				mustPut(t, c, fmt.Sprintf("s/%05d", i), value+strconv.Itoa(i))
			}
			want, err := c.Range(ctx, Prefix("s/"))
			if err != nil || len(want.KVs) != n {
				t.Fatalf("Range: %d keys, %v", len(want.KVs), err)
			}
			calls.ranges.Store(0)

			var got []KeyValue
			for kv, err := range c.Scan(ctx, Prefix("s/"), Limit(100)) {
				if err != nil {
					t.Fatalf("Scan after %d keys: %v", len(got), err)
				}
				if len(got) == 50 {
					// Written after the scan started: neither a new key nor a new value shows.
					mustPut(t, c, "s/00200a", "late")
					mustPut(t, c, "s/02999", "changed")
					if _, err := c.Delete(ctx, Key("s/01000")); err != nil {
						t.Fatal(err)
					}
				}
				got = append(got, kv)
			}
			if !slices.EqualFunc(got, want.KVs, sameKV) {
				t.Fatalf("Scan yielded %d keys, not the %d Range read at revision %d", len(got), n, want.Header.Revision)
			}

			streamed := versionAtLeast(cl.Version, 3, 7, 0)
			ranges, streams := calls.ranges.Load(), calls.streams.Load()
			if streamed && (ranges != 1 || streams != 1 || c.scanState().noStream.Load()) {
				t.Errorf("on %s: %d Range calls and %d streams, want the first page and one stream", cl.Version, ranges, streams)
			}
			if !streamed && (ranges != n/100 || streams != 1 || !c.scanState().noStream.Load()) {
				t.Errorf("on %s: %d Range calls and %d streams, want %d pages and one refused stream", cl.Version, ranges, streams, n/100)
			}
			// A server without RangeStream is asked once per client; with it, the first page
			// is small whatever the page size.
			calls.streams.Store(0)
			calls.ranges.Store(0)
			count := 0
			for _, err := range c.Scan(ctx, Prefix("s/"), Limit(1000)) {
				if err != nil {
					t.Fatal(err)
				}
				count++
			}
			if want := map[bool]int64{true: 1, false: 0}[streamed]; count != n || calls.streams.Load() != want {
				t.Errorf("second scan: %d keys over %d streams, want %d over %d", count, calls.streams.Load(), n, want)
			}
			ranges, limit := calls.ranges.Load(), calls.limit.Load()
			if streamed && (ranges != 1 || limit != streamedFirstPage) || !streamed && (ranges != n/1000 || limit != 1000) {
				t.Errorf("second scan on %s: %d Range calls, the last with limit %d", cl.Version, ranges, limit)
			}
		})
	}
}

// TestScanResumesAfterABreak cuts the connection while a Scan streams 24 MiB: the scan opens
// the stream again from the key after the last one it yielded, at the same revision.
func TestScanResumesAfterABreak(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{Proxy: true})
	if !versionAtLeast(cl.Version, 3, 7, 0) {
		t.Skipf("RangeStream is etcd 3.7's; this is %s", cl.Version)
	}
	var calls callCounter
	rec := &recorder{}
	c := newClient(t, cl, Config{DialOptions: calls.options(), Logger: slog.New(rec)})
	ctx := t.Context()
	const n, size = 384, 64 << 10
	value := func(i int) string { return string(bytes.Repeat([]byte{byte('a' + i%26)}, size)) }
	for i := range n {
		mustPut(t, c, fmt.Sprintf("r/%04d", i), value(i))
	}
	i := 0
	for kv, err := range c.Scan(ctx, Prefix("r/"), Limit(10)) {
		if err != nil {
			t.Fatalf("Scan after %d keys: %v", i, err)
		}
		if want := fmt.Sprintf("r/%04d", i); string(kv.Key) != want || string(kv.Value) != value(i) {
			t.Fatalf("key %d = %q (%d bytes), want %q", i, kv.Key, len(kv.Value), want)
		}
		if i == 30 {
			mustPut(t, c, "r/0300", "late") // after the break too, the scan reads its revision
			cl.Members[0].Proxy().DropConnections()
		}
		i++
	}
	if i != n {
		t.Fatalf("Scan yielded %d keys, want %d", i, n)
	}
	if s := calls.streams.Load(); s < 2 {
		t.Fatalf("%d streams opened, want a second after the break", s)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !slices.ContainsFunc(rec.msgs, func(m string) bool { return strings.Contains(m, "scan stream broken") }) {
		t.Errorf("no resume logged; log: %q", rec.msgs)
	}
}

// TestScanCompacted compacts past a scan's revision after its first page: paged or streamed,
// the scan ends with ErrCompacted.
func TestScanCompacted(t *testing.T) {
	for _, version := range scanVersions {
		t.Run("etcd"+version, func(t *testing.T) {
			t.Parallel()
			cl := etcdtest.StartCluster(t, etcdtest.Options{Version: version})
			c := newClient(t, cl, Config{})
			ctx := t.Context()
			for i := range 30 {
				mustPut(t, c, fmt.Sprintf("c/%02d", i), "v")
			}
			keys, last := 0, error(nil)
			for _, err := range c.Scan(ctx, Prefix("c/"), Limit(5)) {
				if err != nil {
					last = err
					continue
				}
				if keys++; keys == 1 {
					if _, err := c.Compact(ctx, mustPut(t, c, "other", "v")); err != nil {
						t.Fatal(err)
					}
				}
			}
			if !errors.Is(last, ErrCompacted) || keys != 5 {
				t.Fatalf("Scan over a compaction: %d keys, then %v; want 5, then ErrCompacted", keys, last)
			}
		})
	}
}

// TestRangeStreamChunkOwnsItsBytes decodes a chunk received in several buffers, then
// overwrites them as gRPC does when it reuses its pooled receive buffers: the decoded keys and
// values are intact, and appending to one value does not overwrite the key after it.
func TestRangeStreamChunkOwnsItsBytes(t *testing.T) {
	want := &etcdserverpb.RangeResponse{Kvs: []*mvccpb.KeyValue{
		{Key: []byte("a"), Value: []byte("one"), CreateRevision: 2, ModRevision: 5, Version: 3},
		{Key: []byte("b"), Value: []byte("two"), Lease: 7},
	}}
	inner, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	msg := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), inner)
	for _, size := range []int{len(msg), 7, 1} {
		var data mem.BufferSlice
		for part := range slices.Chunk(bytes.Clone(msg), size) {
			data = append(data, mem.SliceBuffer(part))
		}
		got := new(etcdserverpb.RangeResponse)
		if err := (rangeStreamCodec{}).Unmarshal(data, got); err != nil {
			t.Fatalf("%d-byte buffers: %v", size, err)
		}
		for _, b := range data {
			clear(b.(mem.SliceBuffer))
		}
		if !proto.Equal(got, want) {
			t.Fatalf("%d-byte buffers: decoded %v, then %v once the buffers were reused; want %v", size, want, got, want)
		}
		got.Kvs[0].Value = append(got.Kvs[0].Value, "!!!!!!!!"...)
		if string(got.Kvs[1].Key) != "b" || string(got.Kvs[1].Value) != "two" {
			t.Fatalf("%d-byte buffers: appending to the first value changed the second key: %q = %q", size, got.Kvs[1].Key, got.Kvs[1].Value)
		}
	}
}
