package etcd

import (
	"sync"
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

// Marshal encodes v into one buffer: a small encoding into a pooled sendBuf, which makes
// no allocation; a larger one into a buffer from gRPC's pool, as gRPC's codec does. gRPC
// gives either back through its pool once it has written it.
func (kitCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(kitMessage)
	if !ok {
		return protoCodec.Marshal(v)
	}
	size := m.SizeKit()
	if size <= sendRoom {
		return sendBufs.marshal(m)
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

// sendRoom is a sendBuf's room: above gRPC's pooling threshold (1 KiB), so that
// mem.NewBuffer counts the references to a sendBuf and gives it back to its pool once the
// last is freed (a smaller buffer becomes a plain slice, which nothing gives back).
const sendRoom = 1088

// sendBuf holds a small encoding and the one-element BufferSlice gRPC takes it in. Its first
// field is the slice the pool hands gRPC a pointer to, so that the pointer gRPC gives back
// is the sendBuf's own address.
type sendBuf struct {
	bytes []byte
	slice [1]mem.Buffer
	room  [sendRoom]byte
}

// sendPool pools sendBufs; it is the mem.BufferPool their buffers go back to.
type sendPool struct{ pool sync.Pool }

// sendBufs is the client's pool of small encodings.
var sendBufs sendPool

// take returns a sendBuf from the pool, or a new one.
func (p *sendPool) take() *sendBuf {
	if b, ok := p.pool.Get().(*sendBuf); ok {
		return b
	}
	return new(sendBuf)
}

// marshal encodes m, whose encoding must fit sendRoom, into a pooled sendBuf.
func (p *sendPool) marshal(m kitMessage) (mem.BufferSlice, error) {
	b := p.take()
	enc, err := m.AppendKit(b.room[:0:sendRoom])
	if err != nil {
		p.pool.Put(b)
		return nil, err
	}
	b.bytes = enc
	b.slice[0] = mem.NewBuffer(&b.bytes, p)
	return b.slice[:], nil
}

// Get returns room for length bytes; gRPC itself gets its buffers from its own pools.
func (p *sendPool) Get(length int) *[]byte {
	if length > sendRoom {
		b := make([]byte, length)
		return &b
	}
	b := p.take()
	b.bytes = b.room[:length:sendRoom]
	return &b.bytes
}

// Put takes back a buffer Get or marshal gave out, once nothing refers to it.
func (p *sendPool) Put(buf *[]byte) {
	if cap(*buf) != sendRoom {
		return // one of Get's plain slices, left to the collector
	}
	b := (*sendBuf)(unsafe.Pointer(buf)) // buf is &b.bytes, b's first field
	b.bytes, b.slice[0] = nil, nil
	p.pool.Put(b)
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
