package etcd

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
)

// kitTypes returns every message of the stubs package etcd is built over: those of
// rpc.proto and of the files it imports. It fails the test when one lacks the generated
// codec, which etcdkit-gen writes for every kept message.
func kitTypes(tb testing.TB) []protoreflect.MessageType {
	tb.Helper()
	fd := (&etcdserverpb.RangeRequest{}).ProtoReflect().Descriptor().ParentFile()
	files := []protoreflect.FileDescriptor{fd}
	for i := 0; i < fd.Imports().Len(); i++ {
		files = append(files, fd.Imports().Get(i).FileDescriptor)
	}
	var out []protoreflect.MessageType
	var walk func(protoreflect.MessageDescriptors)
	walk = func(msgs protoreflect.MessageDescriptors) {
		for i := 0; i < msgs.Len(); i++ {
			mt, err := protoregistry.GlobalTypes.FindMessageByName(msgs.Get(i).FullName())
			if err != nil {
				tb.Fatalf("%s: %v", msgs.Get(i).FullName(), err)
			}
			if _, ok := mt.New().Interface().(kitMessage); !ok {
				tb.Fatalf("%s has no generated codec: regenerate the stubs with etcdkit-gen", mt.Descriptor().FullName())
			}
			out = append(out, mt)
			walk(msgs.Get(i).Messages())
		}
	}
	for _, f := range files {
		walk(f.Messages())
	}
	return out
}

// source hands out the fuzz input as field values; exhausted, it gives zeros.
type source struct{ b []byte }

func (s *source) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

// number returns a small value, a full 64-bit one or a negative one.
func (s *source) number() uint64 {
	switch s.byte() % 3 {
	case 0:
		return uint64(s.byte())
	case 1:
		var b [8]byte
		n := copy(b[:], s.b)
		s.b = s.b[n:]
		return binary.LittleEndian.Uint64(b[:])
	}
	return uint64(-int64(s.byte()) - 1)
}

func (s *source) bytes() []byte {
	n := min(int(s.byte()%24), len(s.b))
	b := s.b[:n]
	s.b = s.b[n:]
	return bytes.Clone(b)
}

// value returns a random value of a scalar, string or bytes field. Strings are valid
// UTF-8 most of the time.
func (s *source) value(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(s.byte()&1 == 1)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(int32(s.number())))
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(int32(s.number()))
	case protoreflect.Uint32Kind:
		return protoreflect.ValueOfUint32(uint32(s.number()))
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(int64(s.number()))
	case protoreflect.Uint64Kind:
		return protoreflect.ValueOfUint64(s.number())
	case protoreflect.StringKind:
		str := string(s.bytes())
		if s.byte()%8 != 0 {
			str = strings.ToValidUTF8(str, "?")
		}
		return protoreflect.ValueOfString(str)
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes(s.bytes())
	}
	panic(fmt.Sprintf("the fuzz test does not make %s values", fd.Kind()))
}

// fill sets about a third of m's fields from s, nested messages down to depth, one case
// of each oneof (zero values included), and sometimes unknown fields.
func (s *source) fill(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if s.byte()%3 != 0 {
			continue
		}
		if o := fd.ContainingOneof(); o != nil && m.WhichOneof(o) != nil {
			continue
		}
		msg := fd.Kind() == protoreflect.MessageKind
		switch {
		case msg && depth == 0:
		case fd.IsList():
			l := m.Mutable(fd).List()
			for n := s.byte() % 4; n > 0; n-- {
				if !msg {
					l.Append(s.value(fd))
					continue
				}
				e := l.NewElement()
				s.fill(e.Message(), depth-1)
				l.Append(e)
			}
		case msg:
			s.fill(m.Mutable(fd).Message(), depth-1)
		default:
			m.Set(fd, s.value(fd))
		}
	}
	if s.byte()%4 == 0 {
		num := protowire.Number(1000 + int(s.byte()))
		raw := m.GetUnknown()
		if s.byte()&1 == 0 {
			raw = protowire.AppendVarint(protowire.AppendTag(raw, num, protowire.VarintType), s.number())
		} else {
			raw = protowire.AppendBytes(protowire.AppendTag(raw, num, protowire.BytesType), s.bytes())
		}
		m.SetUnknown(raw)
	}
}

// checkRoundTrip compares the generated codec with protobuf-go on m: the same bytes and
// size (or both an error), and each decoding the other's bytes into a message equal to m,
// unknown fields included.
func checkRoundTrip(t *testing.T, m proto.Message) {
	t.Helper()
	name := m.ProtoReflect().Descriptor().FullName()
	pb, perr := proto.Marshal(m)
	kb, kerr := m.(kitMessage).AppendKit(nil)
	if (perr == nil) != (kerr == nil) {
		t.Fatalf("%s: proto.Marshal error %v, AppendKit error %v", name, perr, kerr)
	}
	if perr != nil {
		return
	}
	if !bytes.Equal(pb, kb) {
		t.Fatalf("%s: AppendKit gives\n%x\nproto.Marshal gives\n%x", name, kb, pb)
	}
	if got := m.(kitMessage).SizeKit(); got != len(pb) || got != proto.Size(m) {
		t.Fatalf("%s: SizeKit %d, proto.Size %d, encoding %d bytes", name, got, proto.Size(m), len(pb))
	}
	back := m.ProtoReflect().Type().New().Interface()
	if err := proto.Unmarshal(kb, back); err != nil || !proto.Equal(m, back) {
		t.Fatalf("%s: proto.Unmarshal of AppendKit's bytes: %v, equal %t", name, err, proto.Equal(m, back))
	}
	kit := m.ProtoReflect().Type().New().Interface()
	if err := kit.(kitMessage).UnmarshalKit(pb); err != nil || !proto.Equal(m, kit) {
		t.Fatalf("%s: UnmarshalKit of proto.Marshal's bytes: %v, equal %t", name, err, proto.Equal(m, kit))
	}
	if got, want := kit.ProtoReflect().GetUnknown(), m.ProtoReflect().GetUnknown(); !bytes.Equal(got, want) {
		t.Fatalf("%s: unknown fields %x after UnmarshalKit, want %x", name, got, want)
	}
}

// checkDecode compares UnmarshalKit with proto.Unmarshal on arbitrary bytes: both fail,
// or both give equal messages, and the kit's does not change when raw does afterwards
// (checkDecode overwrites raw).
func checkDecode(t *testing.T, mt protoreflect.MessageType, raw []byte) {
	t.Helper()
	want := mt.New().Interface()
	perr := proto.Unmarshal(raw, want)
	got := mt.New().Interface()
	kerr := got.(kitMessage).UnmarshalKit(raw)
	if (perr == nil) != (kerr == nil) {
		t.Fatalf("%s from %x: proto.Unmarshal error %v, UnmarshalKit error %v", mt.Descriptor().FullName(), raw, perr, kerr)
	}
	if perr != nil {
		return
	}
	for i := range raw {
		raw[i] = ^raw[i]
	}
	if !proto.Equal(want, got) {
		t.Fatalf("%s: UnmarshalKit gives %v, proto.Unmarshal %v", mt.Descriptor().FullName(), got, want)
	}
}

// FuzzCodec checks the generated codec against protobuf-go on random messages of every
// kit type, and on the raw input decoded as each type.
func FuzzCodec(f *testing.F) {
	types := kitTypes(f)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0, 3, 6, 9, 12, 200, 255, 1}, 40))
	seed, _ := proto.Marshal(&etcdserverpb.TxnRequest{
		Compare: []*etcdserverpb.Compare{{Key: []byte("k"), TargetUnion: &etcdserverpb.Compare_ModRevision{ModRevision: 0}}},
		Success: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestPut{RequestPut: &etcdserverpb.PutRequest{Key: []byte("k")}}}},
	})
	f.Add(append([]byte{0}, seed...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		mt := types[int(in[0])%len(types)]
		raw := bytes.Clone(in[1:])
		s := &source{b: in[1:]}
		m := mt.New()
		s.fill(m, 3)
		checkRoundTrip(t, m.Interface())
		checkDecode(t, mt, raw)
	})
}

// TestCodecKinds runs the round trip on hand-made KV messages: oneof cases holding zero
// values and messages, nested messages across packages, field numbers past 15, and
// unknown fields at two depths. codec_lists_test.go has the constructs of other services.
func TestCodecKinds(t *testing.T) {
	t.Parallel()
	unknown := protowire.AppendString(protowire.AppendTag(nil, 999, protowire.BytesType), "later")
	kv := &mvccpb.KeyValue{Key: []byte("a"), Value: []byte{}, ModRevision: -1, Lease: 1 << 62}
	kv.ProtoReflect().SetUnknown(unknown)
	resp := &etcdserverpb.RangeResponse{Kvs: []*mvccpb.KeyValue{kv, {Key: []byte("b")}}, More: true, Count: 2}
	resp.ProtoReflect().SetUnknown(unknown)
	for _, m := range []proto.Message{
		&etcdserverpb.RangeRequest{},
		&etcdserverpb.RangeRequest{Key: []byte("k"), RangeEnd: []byte{0}, Limit: 10, SortOrder: etcdserverpb.RangeRequest_DESCEND, Serializable: true, MaxCreateRevision: 5},
		resp,
		&etcdserverpb.Compare{Key: []byte("k"), TargetUnion: &etcdserverpb.Compare_Value{Value: nil}, RangeEnd: []byte("z")},
		&etcdserverpb.Compare{TargetUnion: &etcdserverpb.Compare_Version{Version: 0}},
		&etcdserverpb.TxnResponse{Responses: []*etcdserverpb.ResponseOp{
			{Response: &etcdserverpb.ResponseOp_ResponseRange{ResponseRange: resp}},
			{Response: &etcdserverpb.ResponseOp_ResponseTxn{ResponseTxn: &etcdserverpb.TxnResponse{}}},
		}},
	} {
		checkRoundTrip(t, m)
	}
}

// TestCodecOneByteCases: the generated decoding reads one-byte tags, varints and lengths
// itself and leaves longer ones to protowire; at the edges of that case it must agree with
// proto.Unmarshal, errors included.
func TestCodecOneByteCases(t *testing.T) {
	t.Parallel()
	kv := (&mvccpb.KeyValue{}).ProtoReflect().Type()
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"field number 0", []byte{0x00, 0x01}},
		{"field number 0, bytes", []byte{0x02, 0x00}},
		{"two-byte tag of field 1", []byte{0x8a, 0x00, 0x01, 'k'}},
		{"two-byte tag of field 16", []byte{0x80, 0x01, 0x05}},
		{"tag cut short", []byte{0x80}},
		{"varint 127", []byte{0x10, 0x7f}},
		{"varint 128", []byte{0x10, 0x80, 0x01}},
		{"varint cut short", []byte{0x10, 0x80}},
		{"varint missing", []byte{0x10}},
		{"length filling the rest", []byte{0x0a, 0x02, 'k', 'k'}},
		{"length one past the end", []byte{0x0a, 0x03, 'k', 'k'}},
		{"length 127 of 126", append([]byte{0x2a, 0x7f}, make([]byte, 126)...)},
		{"length 127 of 127", append([]byte{0x2a, 0x7f}, make([]byte, 127)...)},
		{"two-byte length", append([]byte{0x2a, 0x80, 0x01}, make([]byte, 128)...)},
		{"length missing", []byte{0x0a}},
		{"wrong wire type", []byte{0x0d, 1, 2, 3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkDecode(t, kv, bytes.Clone(tc.raw)) })
	}
}

// TestCodecMerge: decoding appends lists, merges set messages, and a later oneof case
// replaces an earlier one, as proto.Unmarshal does with concatenated encodings.
func TestCodecMerge(t *testing.T) {
	t.Parallel()
	a, _ := proto.Marshal(&etcdserverpb.TxnRequest{
		Compare: []*etcdserverpb.Compare{{Key: []byte("a")}},
		Success: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestPut{RequestPut: &etcdserverpb.PutRequest{Key: []byte("p")}}}},
	})
	b, _ := proto.Marshal(&etcdserverpb.TxnRequest{
		Compare: []*etcdserverpb.Compare{{Key: []byte("b")}, {Key: []byte("c")}},
		Failure: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestRange{RequestRange: &etcdserverpb.RangeRequest{Key: []byte("r")}}}},
	})
	types := []protoreflect.MessageType{(&etcdserverpb.TxnRequest{}).ProtoReflect().Type()}
	for _, mt := range types {
		checkDecode(t, mt, append(bytes.Clone(a), b...))
	}
	got := new(etcdserverpb.TxnRequest)
	if err := got.UnmarshalKit(append(bytes.Clone(a), b...)); err != nil {
		t.Fatal(err)
	}
	if len(got.Compare) != 3 || string(got.Compare[2].Key) != "c" || len(got.Failure) != 1 {
		t.Fatalf("merged %v", got)
	}
}

// TestCodecPresetElements: a Get's reply decodes its key-value into the one preset in the
// reply (no allocation of its own), further key-values into new ones, all equal to what
// proto.Unmarshal decodes; and MergeKit (no arena) still appends new elements to a list
// truncated for reuse, leaving the message past its length alone, as proto.Unmarshal does.
func TestCodecPresetElements(t *testing.T) { // not parallel: it counts allocations
	want := &etcdserverpb.RangeResponse{Header: &etcdserverpb.ResponseHeader{Revision: 9}, Count: 2, Kvs: []*mvccpb.KeyValue{
		{Key: []byte("a"), Value: []byte("1"), ModRevision: 4},
		{Key: []byte("b"), Value: []byte("2"), ModRevision: 5},
	}}
	for _, n := range []int{1, 2} {
		w := proto.Clone(want).(*etcdserverpb.RangeResponse)
		w.Kvs = w.Kvs[:n]
		raw, err := proto.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		data := mem.BufferSlice{mem.SliceBuffer(raw)}
		var r rangeReply
		r.kv.Key = []byte("left over from an earlier call: preset clears it")
		if err := (kitCodec{}).Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&r.RangeResponse, w) {
			t.Errorf("%d key-values: decoded %v; want %v", n, &r.RangeResponse, w)
		}
		if len(r.Kvs) != n || r.Kvs[0] != &r.kv {
			t.Errorf("%d key-values: the first went to %p, not to the reply's own key-value %p", n, r.Kvs[0], &r.kv)
		}
		if allocs := testing.AllocsPerRun(100, func() { (kitCodec{}).Unmarshal(data, &r) }); n == 1 && allocs > 1 {
			t.Errorf("a Get's reply took %v allocations to decode; want 1 (its bytes)", allocs)
		}
	}

	held := &mvccpb.KeyValue{Key: []byte("held by someone")}
	m := &etcdserverpb.RangeResponse{Kvs: []*mvccpb.KeyValue{held}}
	m.Kvs = m.Kvs[:0]
	raw, _ := proto.Marshal(want)
	if err := m.MergeKit(raw); err != nil {
		t.Fatal(err)
	}
	if string(held.Key) != "held by someone" || m.Kvs[0] == held || !proto.Equal(m, want) {
		t.Errorf("MergeKit into a truncated list: %v, the message past its length now %v", m, held)
	}
}

// TestCodecSendBuffers: a request of up to sendRoom bytes is encoded as proto.Marshal
// encodes it, into a pooled buffer that grpc-go gives back when it frees the encoding (so a
// request's encoding allocates nothing once the pool holds one), and a larger one into a
// buffer of grpc-go's pool; a buffer given back is not handed out while still in use.
func TestCodecSendBuffers(t *testing.T) { // not parallel: it counts allocations
	for _, size := range []int{0, 10, sendRoom - 40, sendRoom + 10, 5000} {
		req := &etcdserverpb.PutRequest{Key: []byte("k"), Value: bytes.Repeat([]byte("v"), size)}
		want, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		data, err := (kitCodec{}).Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := data.Materialize(); !bytes.Equal(got, want) {
			t.Fatalf("%d-byte value: encoded %x; want %x", size, got, want)
		}
		other, err := (kitCodec{}).Marshal(&etcdserverpb.PutRequest{Key: []byte("other")})
		if err != nil {
			t.Fatal(err)
		}
		if got := data.Materialize(); !bytes.Equal(got, want) {
			t.Fatalf("%d-byte value: another encoding changed the first, still unfreed, to %x", size, got)
		}
		other.Free()
		data.Free()
		if len(want) > sendRoom {
			continue
		}
		allocs := testing.AllocsPerRun(100, func() {
			data, err := (kitCodec{}).Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			data.Free()
		})
		if allocs > 0 {
			t.Errorf("%d-byte value: encoding a request took %v allocations; want none (a pooled buffer)", size, allocs)
		}
	}
}

// TestCodecDepth: UnmarshalKit decodes messages nested as deeply as proto.Unmarshal allows
// (10,000 levels) and fails one level deeper, as proto.Unmarshal does.
func TestCodecDepth(t *testing.T) {
	t.Parallel()
	// nested returns a TxnRequest holding levels messages, itself included: TxnRequests at
	// odd levels (from the outside), RequestOps at even ones.
	nested := func(levels int) []byte {
		b := []byte{}
		for k := levels; k > 1; k-- {
			if (k-1)%2 == 1 {
				b = protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), b) // TxnRequest.success
			} else {
				b = protowire.AppendBytes(protowire.AppendTag(nil, 4, protowire.BytesType), b) // RequestOp.request_txn
			}
		}
		return b
	}
	mt := (&etcdserverpb.TxnRequest{}).ProtoReflect().Type()
	for _, levels := range []int{9999, 10000, 10001, 10002} {
		raw := nested(levels)
		err := new(etcdserverpb.TxnRequest).UnmarshalKit(raw)
		if (err == nil) != (levels <= 10000) {
			t.Errorf("%d levels: UnmarshalKit error %v", levels, err)
		}
		checkDecode(t, mt, raw)
	}
}

// TestCodecNoAlias: a decoded message owns its bytes, and appending to one bytes field
// does not overwrite the next.
func TestCodecNoAlias(t *testing.T) {
	t.Parallel()
	pb, _ := proto.Marshal(&mvccpb.KeyValue{Key: []byte("key"), Value: []byte("value")})
	var kv mvccpb.KeyValue
	if err := kv.UnmarshalKit(pb); err != nil {
		t.Fatal(err)
	}
	clear(pb)
	_ = append(kv.Key, "XXXXXXXX"...)
	if string(kv.Key) != "key" || string(kv.Value) != "value" {
		t.Fatalf("key %q value %q", kv.Key, kv.Value)
	}
}

// TestCodecFallback: messages without the generated methods go through gRPC's proto codec,
// and the codec's bytes decode as the message sent.
func TestCodecFallback(t *testing.T) {
	t.Parallel()
	for _, m := range []proto.Message{
		&etcdserverpb.PutRequest{Key: []byte("k"), Value: []byte("v"), Lease: 7},
		fallbackMessage{m: &etcdserverpb.PutRequest{Key: []byte("k"), Value: bytes.Repeat([]byte("v"), 4096)}},
	} {
		data, err := kitCodec{}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var got etcdserverpb.PutRequest
		if err := (kitCodec{}).Unmarshal(data, fallbackMessage{m: &got}); err != nil {
			t.Fatal(err)
		}
		want := m
		if f, ok := m.(fallbackMessage); ok {
			want = f.m
		}
		if !proto.Equal(&got, want) {
			t.Fatalf("decoded %v, want %v", &got, want)
		}
		data.Free()
	}
}

// fallbackMessage hides the generated codec of the message it wraps.
type fallbackMessage struct{ m *etcdserverpb.PutRequest }

func (f fallbackMessage) ProtoReflect() protoreflect.Message { return f.m.ProtoReflect() }

// benchCodecs are the codecs the benchmarks compare.
var benchCodecs = []struct {
	name  string
	codec interface {
		Marshal(any) (mem.BufferSlice, error)
		Unmarshal(mem.BufferSlice, any) error
	}
}{{"kit", kitCodec{}}, {"proto", protoCodec}}

// BenchmarkCodec encodes a request and decodes its response in memory, as a put, a get
// of one key and of 100 keys, and a one-compare one-put txn make them.
func BenchmarkCodec(b *testing.B) {
	kv := func(i int) *mvccpb.KeyValue {
		return &mvccpb.KeyValue{Key: fmt.Appendf(nil, "bench/key/%04d", i), Value: bytes.Repeat([]byte("v"), 64), CreateRevision: 100, ModRevision: 200 + int64(i), Version: 3}
	}
	header := &etcdserverpb.ResponseHeader{ClusterId: 1 << 60, MemberId: 1 << 61, Revision: 123456, RaftTerm: 7}
	var hundred []*mvccpb.KeyValue
	for i := range 100 {
		hundred = append(hundred, kv(i))
	}
	cases := []struct {
		name      string
		req, resp proto.Message
		newResp   func() proto.Message
	}{
		{"put", &etcdserverpb.PutRequest{Key: []byte("bench/key"), Value: bytes.Repeat([]byte("v"), 64)},
			&etcdserverpb.PutResponse{Header: header}, func() proto.Message { return new(etcdserverpb.PutResponse) }},
		{"get", &etcdserverpb.RangeRequest{Key: []byte("bench/key")},
			&etcdserverpb.RangeResponse{Header: header, Kvs: []*mvccpb.KeyValue{kv(0)}, Count: 1}, func() proto.Message { return new(etcdserverpb.RangeResponse) }},
		{"get100", &etcdserverpb.RangeRequest{Key: []byte("bench/"), RangeEnd: []byte("bench0")},
			&etcdserverpb.RangeResponse{Header: header, Kvs: hundred, Count: 100}, func() proto.Message { return new(etcdserverpb.RangeResponse) }},
		{"txn", &etcdserverpb.TxnRequest{
			Compare: []*etcdserverpb.Compare{{Key: []byte("bench/key"), Target: etcdserverpb.Compare_MOD, TargetUnion: &etcdserverpb.Compare_ModRevision{ModRevision: 5}}},
			Success: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestPut{RequestPut: &etcdserverpb.PutRequest{Key: []byte("bench/key"), Value: []byte("v")}}}},
		}, &etcdserverpb.TxnResponse{Header: header, Succeeded: true, Responses: []*etcdserverpb.ResponseOp{
			{Response: &etcdserverpb.ResponseOp_ResponsePut{ResponsePut: &etcdserverpb.PutResponse{Header: header}}},
		}}, func() proto.Message { return new(etcdserverpb.TxnResponse) }},
	}
	for _, tc := range cases {
		wire, err := proto.Marshal(tc.resp)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range benchCodecs {
			b.Run(tc.name+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					data, err := c.codec.Marshal(tc.req)
					if err != nil {
						b.Fatal(err)
					}
					data.Free()
					resp := tc.newResp()
					if err := c.codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, resp); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkCodecServer makes puts, gets (of one key and of 100 keys) and one-compare
// one-put txns against a real etcd member, with the kit's codec (the default) and with gRPC's proto codec forced on the
// connection, alternating between the two.
func BenchmarkCodecServer(b *testing.B) {
	cl := etcdtest.StartCluster(b, etcdtest.Options{})
	ctx := context.Background()
	value := strings.Repeat("v", 64)
	clients := map[string]*Client{}
	for _, c := range benchCodecs {
		cfg := Config{}
		if c.name == "proto" {
			cfg.DialOptions = []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.ForceCodecV2(protoCodec))}
		}
		clients[c.name] = newClient(b, cl, cfg)
	}
	mustPut(b, clients["kit"], "bench/codec", value)
	for i := range 100 {
		mustPut(b, clients["kit"], fmt.Sprintf("bench/range/%03d", i), value)
	}
	ops := []struct {
		name string
		do   func(*Client) error
	}{
		{"put", func(c *Client) error { _, err := c.Put(ctx, "bench/codec", value); return err }},
		{"get", func(c *Client) error { _, err := c.Get(ctx, "bench/codec"); return err }},
		{"range100", func(c *Client) error { _, err := c.Range(ctx, Prefix("bench/range/")); return err }},
		{"txn", func(c *Client) error {
			_, err := c.Txn(ctx, Txn{If: []Cmp{CompareVersion(Key("bench/codec")).Greater(0)}, Then: []Op{OpPut("bench/other", value)}})
			return err
		}},
	}
	for _, op := range ops {
		for _, c := range benchCodecs {
			b.Run(op.name+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := op.do(clients[c.name]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
