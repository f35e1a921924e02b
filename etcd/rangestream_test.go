package etcd

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
)

// mergeChunks merges a RangeStream's chunks as the server describes them: the keys concatenated,
// Header, More and Count from the last chunk. It fails the test if an earlier chunk carries
// those or the stream fails.
func mergeChunks(t *testing.T, chunks func(func(RangeResult, error) bool)) (RangeResult, int) {
	t.Helper()
	var all []RangeResult
	for res, err := range chunks {
		if err != nil {
			t.Fatalf("RangeStream after %d chunks: %v", len(all), err)
		}
		all = append(all, res)
	}
	if len(all) == 0 {
		t.Fatal("RangeStream yielded no chunk")
	}
	merged := all[len(all)-1]
	merged.KVs = nil
	for i, res := range all {
		if i < len(all)-1 && (res.Header != Header{} || res.More || res.Count != 0) {
			t.Errorf("chunk %d of %d carries header, more or count: %+v", i, len(all), res)
		}
		merged.KVs = append(merged.KVs, res.KVs...)
	}
	return merged, len(all)
}

func TestRangeStream(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	if !versionAtLeast(cl.Version, 3, 7, 0) {
		for _, err := range c.RangeStream(ctx, Prefix("s/")) {
			if !errors.Is(err, ErrNotSupported) {
				t.Fatalf("RangeStream on %s = %v, want ErrNotSupported", cl.Version, err)
			}
		}
		return
	}
	const n = 300
	for i := range n {
		mustPut(t, c, fmt.Sprintf("s/%04d", i), strings.Repeat("v", i))
	}
	mustPut(t, c, "t", "outside")
	want, err := c.Range(ctx, Prefix("s/"))
	if err != nil {
		t.Fatal(err)
	}

	got, chunks := mergeChunks(t, c.RangeStream(ctx, Prefix("s/")))
	if chunks < 3 || got.Header != want.Header || got.Count != n || got.More || !slices.EqualFunc(got.KVs, want.KVs, sameKV) {
		t.Errorf("RangeStream: %d chunks, header %+v, count %d, more %t, %d keys; want several chunks and Range's %+v, %d keys",
			chunks, got.Header, got.Count, got.More, len(got.KVs), want.Header, len(want.KVs))
	}

	limited, _ := mergeChunks(t, c.RangeStream(ctx, Prefix("s/"), Limit(25), KeysOnly()))
	if len(limited.KVs) != 25 || !limited.More || limited.Count != n || len(limited.KVs[24].Value) != 0 || string(limited.KVs[24].Key) != "s/0024" {
		t.Errorf("Limit(25), KeysOnly: %d keys, more %t, count %d", len(limited.KVs), limited.More, limited.Count)
	}
	counted, chunks := mergeChunks(t, c.RangeStream(ctx, Prefix("s/"), CountOnly()))
	if chunks != 1 || counted.Count != n || len(counted.KVs) != 0 || counted.Header.Revision != want.Header.Revision {
		t.Errorf("CountOnly: %d chunks, %+v", chunks, counted)
	}
	old, _ := mergeChunks(t, c.RangeStream(ctx, Prefix("s/"), AtRevision(want.Header.Revision-n)))
	if len(old.KVs) != 1 || old.Header.Revision != want.Header.Revision {
		t.Errorf("AtRevision: %d keys at header revision %d; want 1 at %d", len(old.KVs), old.Header.Revision, want.Header.Revision)
	}

	// Breaking out after the first chunk ends the stream (goleak checks in TestMain).
	for res, err := range c.RangeStream(ctx, All()) {
		if err != nil || len(res.KVs) == 0 {
			t.Fatalf("first chunk: %+v, %v", res, err)
		}
		break
	}
	for name, opts := range map[string][]ReadOption{
		"sorted":   {Sort(SortByValue, Descend)},
		"filtered": {ModRevisionBetween(2, 0)},
	} {
		for _, err := range c.RangeStream(ctx, Prefix("s/"), opts...) {
			if !errors.Is(err, ErrNotSupported) {
				t.Errorf("RangeStream %s = %v, want ErrNotSupported", name, err)
			}
		}
	}
	for _, err := range c.RangeStream(ctx, Prefix("s/"), AtRevision(want.Header.Revision+10)) {
		if !errors.Is(err, ErrFutureRevision) {
			t.Errorf("RangeStream at a future revision = %v, want ErrFutureRevision", err)
		}
	}

	ns := newClient(t, cl, Config{Namespace: "s/"})
	inNS, _ := mergeChunks(t, ns.RangeStream(ctx, Between("0100", "0200")))
	if len(inNS.KVs) != 100 || string(inNS.KVs[0].Key) != "0100" {
		t.Errorf("in a namespace: %d keys, first %q", len(inNS.KVs), inNS.KVs[0].Key)
	}
	ns.Close()
	for _, err := range ns.RangeStream(ctx, All()) {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("RangeStream on a closed client = %v, want ErrClosed", err)
		}
	}
}

func sameKV(a, b KeyValue) bool {
	return string(a.Key) == string(b.Key) && string(a.Value) == string(b.Value) &&
		a.CreateRevision == b.CreateRevision && a.ModRevision == b.ModRevision && a.Version == b.Version && a.Lease == b.Lease
}

// TestRangeStreamAfterTokenExpiry reads with a token that expired since the client's last
// call: the stream is refused, the client authenticates again and opens it anew.
func TestRangeStreamAfterTokenExpiry(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{Args: []string{"--auth-token-ttl=1"}})
	if !versionAtLeast(cl.Version, 3, 7, 0) {
		t.Skipf("RangeStream is etcd 3.7's; this is %s", cl.Version)
	}
	enableAuth(t, newClient(t, cl, Config{}))
	app := newClient(t, cl, Config{Username: "app", Password: "secret"})
	mustPut(t, app, "app/k", "v")
	time.Sleep(2500 * time.Millisecond) // the token expires
	got, _ := mergeChunks(t, app.RangeStream(t.Context(), Prefix("app/")))
	if len(got.KVs) != 1 || string(got.KVs[0].Value) != "v" {
		t.Fatalf("RangeStream after the token expired = %+v", got)
	}
}

// chunkSeed is a RangeStreamResponse's encoding: a header, keys with values of several
// sizes, more and count, and an unknown field after the range response.
func chunkSeed(t testing.TB) []byte {
	resp := &etcdserverpb.RangeResponse{
		Header: &etcdserverpb.ResponseHeader{ClusterId: 1, MemberId: 2, Revision: 300, RaftTerm: 4},
		More:   true, Count: 7,
	}
	for i, size := range []int{0, 1, 127, 128, 1000, 3000, 20} {
		resp.Kvs = append(resp.Kvs, &mvccpb.KeyValue{
			Key: []byte{'k', byte('a' + i)}, Value: bytes.Repeat([]byte{byte('0' + i)}, size),
			CreateRevision: int64(2 + i), ModRevision: int64(200 + i), Version: int64(i), Lease: int64(i * 1000),
		})
	}
	inner, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	msg := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), inner)
	return protowire.AppendVarint(protowire.AppendTag(msg, 9, protowire.VarintType), 5)
}

// FuzzRangeStreamChunk decodes a RangeStreamResponse received in buffers of one size (1 to
// 64 bytes, and the rest in the last), and compares it with proto.Unmarshal: the same
// RangeResponse, unknown fields included, or an error from both.
func FuzzRangeStreamChunk(f *testing.F) {
	seed := chunkSeed(f)
	f.Add(seed, uint8(0))
	f.Add(seed, uint8(6))
	f.Add(seed, uint8(63))
	f.Add(seed[:len(seed)-40], uint8(2))                                    // truncated in a value
	f.Add(append(slices.Clone(seed), seed...), uint8(9))                    // the range response twice: merged
	f.Add([]byte{0x0a, 0x05, 0x1b, 0x01, 0x1c, 0x18, 0x01}, uint8(0))       // a group inside, within one buffer
	f.Add([]byte{0x0a, 0x05, 0x1b, 0x01, 0x1c, 0x18, 0x01}, uint8(1))       // and across buffers
	f.Add([]byte{0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}, uint8(2))       // a length that never ends
	f.Add([]byte{0x13, 0x08, 0x01, 0x14, 0x0a, 0x02, 0x18, 0x01}, uint8(1)) // a group before it
	f.Fuzz(func(t *testing.T, msg []byte, size uint8) {
		want := new(etcdserverpb.RangeStreamResponse)
		wantErr := proto.Unmarshal(msg, want)
		var data mem.BufferSlice
		for part := range slices.Chunk(msg, int(size%64)+1) {
			data = append(data, mem.SliceBuffer(part))
		}
		got := new(etcdserverpb.RangeResponse)
		err := (rangeStreamCodec{}).Unmarshal(data, got)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%d-byte buffers: error %v; protobuf's: %v", size%64+1, err, wantErr)
		}
		if err != nil {
			return
		}
		if w := cmp.Or(want.GetRangeResponse(), new(etcdserverpb.RangeResponse)); !proto.Equal(got, w) {
			t.Fatalf("%d-byte buffers: decoded %v; protobuf: %v", size%64+1, got, w)
		}
	})
}

// TestRangeStreamChunkRandom decodes random RangeStreamResponses (key-values small and past
// a quarter block, unknown fields, a range response given twice, bytes cut off or changed)
// in buffers of several sizes, as FuzzRangeStreamChunk does, and compares each with
// proto.Unmarshal, after the buffers are overwritten, decoded as RangeStream's results and
// as Scan's chunks; and edge cases of the block decoder's
// varints: one that overflows its tenth byte, one cut off at a buffer's end.
func TestRangeStreamChunkRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	check := func(name string, msg []byte, size int) {
		t.Helper()
		want := new(etcdserverpb.RangeStreamResponse)
		wantErr := proto.Unmarshal(msg, want)
		var data mem.BufferSlice
		for part := range slices.Chunk(bytes.Clone(msg), size) {
			data = append(data, mem.SliceBuffer(part))
		}
		got := new(etcdserverpb.RangeResponse)
		err := (rangeStreamCodec{}).Unmarshal(data, got)
		var chunk scanChunk
		chunkErr := (rangeStreamCodec{}).Unmarshal(data, &chunk)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s, %d-byte buffers: error %v; protobuf's: %v", name, size, err, wantErr)
		}
		if err != nil {
			return
		}
		for _, b := range data {
			clear(b.(mem.SliceBuffer))
		}
		w := cmp.Or(want.GetRangeResponse(), new(etcdserverpb.RangeResponse))
		if !proto.Equal(got, w) {
			t.Fatalf("%s, %d-byte buffers: decoded %v; protobuf: %v", name, size, got, w)
		}
		// Scan's chunks hold the same key-values, each decoded as it is yielded.
		if chunkErr != nil {
			t.Fatalf("%s, %d-byte buffers: as Scan's chunk: %v", name, size, chunkErr)
		}
		if len(chunk.kvs) != len(w.Kvs) {
			t.Fatalf("%s, %d-byte buffers: Scan's chunk holds %d key-values; protobuf: %d", name, size, len(chunk.kvs), len(w.Kvs))
		}
		for i, enc := range chunk.kvs {
			kv := &mvccpb.KeyValue{Key: []byte("left over"), Lease: 99}
			if err := decodeKeyValue(enc, kv); err != nil {
				t.Fatalf("%s, %d-byte buffers: Scan's key-value %d: %v", name, size, i, err)
			}
			if !proto.Equal(kv, w.Kvs[i]) {
				t.Fatalf("%s, %d-byte buffers: Scan's key-value %d is %v; protobuf: %v", name, size, i, kv, w.Kvs[i])
			}
		}
	}
	count := protowire.AppendTag(nil, 4, protowire.VarintType)
	overflow := append(slices.Clone(count), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02)
	for _, size := range []int{1, 3, 64} {
		check("overflowing varint", protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), overflow), size)
		check("largest varint", protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), protowire.AppendVarint(slices.Clone(count), 1<<64-1)), size)
		check("varint cut off", protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), count)[:4], size)
	}
	// A fixed-size field is one the block decoder leaves to the general way.
	kvs, err := proto.Marshal(&etcdserverpb.RangeResponse{Kvs: []*mvccpb.KeyValue{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Lease: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	fixed := protowire.AppendFixed64(protowire.AppendTag(kvs, 9, protowire.Fixed64Type), 7)
	check("fixed-size field", protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), fixed), 5)
	if err := decodeKeyValue([]byte{0x0a, 0x05, 'a'}, new(mvccpb.KeyValue)); !errors.Is(err, errMalformedChunk) {
		t.Fatalf("a key-value cut off: %v, want %v", err, errMalformedChunk)
	}
	for i := range 2000 {
		resp := &etcdserverpb.RangeResponse{Count: rng.Int64N(1 << 40), More: rng.IntN(2) == 0}
		if rng.IntN(2) == 0 {
			resp.Header = &etcdserverpb.ResponseHeader{ClusterId: rng.Uint64(), Revision: rng.Int64N(1000)}
		}
		for range rng.IntN(6) {
			resp.Kvs = append(resp.Kvs, &mvccpb.KeyValue{
				Key: random(rng.IntN(20)), Value: random([]int{0, 5, 200, chunkBlock/4 + 1}[rng.IntN(4)]),
				ModRevision: rng.Int64N(1 << 30), Lease: rng.Int64N(3),
			})
		}
		inner, err := proto.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		if rng.IntN(4) == 0 {
			inner = protowire.AppendBytes(protowire.AppendTag(inner, protowire.Number(rng.IntN(40)+5), protowire.BytesType), random(rng.IntN(5)))
		}
		if rng.IntN(5) == 0 {
			inner = protowire.AppendVarint(protowire.AppendTag(inner, protowire.Number(rng.IntN(40)+5), protowire.VarintType), rng.Uint64())
		}
		msg := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), inner)
		if rng.IntN(4) == 0 {
			msg = append(msg, msg...)
		}
		switch rng.IntN(6) {
		case 0:
			msg = msg[:rng.IntN(len(msg)+1)]
		case 1:
			if len(msg) > 0 {
				msg[rng.IntN(len(msg))] = byte(rng.IntN(256))
			}
		}
		check(fmt.Sprintf("chunk %d", i), msg, []int{1, 7, 100, 16384, len(msg) + 1}[rng.IntN(5)])
	}
}
