package etcd

import (
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

// Marshal encodes v into one buffer: a marshaled when it is small, else one from gRPC's
// pool, as gRPC's codec does.
func (kitCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(kitMessage)
	if !ok {
		return protoCodec.Marshal(v)
	}
	size := m.SizeKit()
	if mem.IsBelowBufferPoolingThreshold(size) {
		out := new(marshaled)
		b := out.inline[:0]
		if size > len(out.inline) {
			b = make([]byte, 0, size)
		}
		b, err := m.AppendKit(b)
		if err != nil {
			return nil, err
		}
		out.buf = b
		out.slice[0] = &out.buf
		return out.slice[:], nil
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

// marshaled is a small encoding in the shape gRPC takes it, in one allocation when it
// fits inline (a get, a put of a short value, a small txn); gRPC's codec makes three.
type marshaled struct {
	slice  [1]mem.Buffer // holds &buf
	buf    mem.SliceBuffer
	inline [128]byte
}

// Unmarshal decodes data into v. The generated UnmarshalKit copies what the message keeps,
// so the received buffers go back to gRPC's pool.
func (kitCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(kitMessage)
	if !ok {
		return protoCodec.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return m.UnmarshalKit(buf.ReadOnlyData())
}

// Name is proto's: the server reads the messages as the protobuf they are.
func (kitCodec) Name() string { return grpcproto.Name }
