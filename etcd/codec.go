package etcd

import (
	"unsafe"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// kitMessage is a message whose stubs carry etcdkit-gen's generated codec (the
// *_codec.pb.go files): it encodes and decodes itself without reflection.
type kitMessage interface {
	SizeKit() int
	AppendKit(b []byte) ([]byte, error)
	UnmarshalKit(b []byte) error
}

// protoCodec is gRPC's own protobuf codec, for messages without the generated codec.
var protoCodec = encoding.GetCodecV2(grpcproto.Name)

// kitCodec is the gRPC codec of the client's connections, set as a call option on each
// connection rather than registered (the kit links beside clientv3, which uses gRPC's
// registered "proto" codec). It encodes with the generated methods where the stubs have
// them and with gRPC's protobuf codec otherwise, so package etcd builds over stubs
// generated with or without the codec. The bytes are the same either way. Calls that
// force rawCodec use that instead.
type kitCodec struct{}

// Marshal encodes v into one buffer: for a small encoding, one allocation that holds the
// bytes and the slice gRPC takes (gRPC's codec makes three); else one from gRPC's pool, as
// gRPC's codec does.
func (kitCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(kitMessage)
	if !ok {
		return protoCodec.Marshal(v)
	}
	size := m.SizeKit()
	// Each class fills a size class of Go's allocator with the 40 bytes of slice and header.
	switch {
	case size <= 88:
		return marshalSmall[[88]byte](m)
	case size <= 216:
		return marshalSmall[[216]byte](m)
	case size <= 472:
		return marshalSmall[[472]byte](m)
	case size <= 728:
		return marshalSmall[[728]byte](m)
	case mem.IsBelowBufferPoolingThreshold(size):
		return marshalSmall[[1024]byte](m)
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	b, err := m.AppendKit((*buf)[:0])
	if err != nil {
		pool.Put(buf)
		return nil, err
	}
	*buf = b
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// marshaled is a small encoding in the shape gRPC takes it, in one allocation: inline is
// an array (A) the encoding fits in.
type marshaled[A any] struct {
	slice  [1]mem.Buffer // holds &buf
	buf    mem.SliceBuffer
	inline A
}

// marshalSmall encodes m into a marshaled[A], which m's encoding must fit.
func marshalSmall[A any](m kitMessage) (mem.BufferSlice, error) {
	out := new(marshaled[A])
	inline := unsafe.Slice((*byte)(unsafe.Pointer(&out.inline)), unsafe.Sizeof(out.inline))
	b, err := m.AppendKit(inline[:0])
	if err != nil {
		return nil, err
	}
	out.buf = b
	out.slice[0] = &out.buf
	return out.slice[:], nil
}

// kitDecoder is the generated codec's decoding into a message without resetting it first
// (the generated DecodeKit): bytes fields are copied into *arena, which is replaced with
// room bytes when a copy does not fit, and messages may nest depth levels.
type kitDecoder interface {
	DecodeKit(b []byte, arena *[]byte, room, depth int) error
}

// decodeDepth is how deep messages may nest in a reply, as for proto.Unmarshal.
const decodeDepth = 10000

// presetReply is a reply allocated together with the messages nested in it (a header, room
// for a key), so that decoding it allocates them no more: one allocation per call rather
// than one per message. Unmarshal calls preset, which clears the reply and points it at
// that room, and decodes into the message it returns without resetting it again, copying
// bytes fields into the arena it returns (held by the reply: a local one would escape).
type presetReply interface {
	preset() (m any, arena *[]byte)
}

// Unmarshal decodes data into v. The generated UnmarshalKit copies what the message keeps,
// so the received buffers go back to gRPC's pool.
func (kitCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if p, ok := v.(presetReply); ok {
		m, arena := p.preset()
		if d, ok := m.(kitDecoder); ok {
			buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
			defer buf.Free()
			b := buf.ReadOnlyData()
			return d.DecodeKit(b, arena, len(b), decodeDepth)
		}
	}
	m, ok := v.(kitMessage)
	if !ok {
		return protoCodec.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return m.UnmarshalKit(buf.ReadOnlyData())
}

// Name is empty, so that calls carry gRPC's plain content type, "application/grpc", which
// means protobuf: the server reads the messages as the protobuf they are. A name, even
// proto's, would make grpc-go build "application/grpc+proto" for every call, an allocation
// the bare stubs do not make.
func (kitCodec) Name() string { return "" }
