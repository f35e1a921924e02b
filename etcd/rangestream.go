package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
)

// RangeStream reads the keys in r over etcd 3.7's KV.RangeStream: the server sends the result
// in chunks, all at one revision, each sized to the server's request limit, so a range of
// any size arrives in one call without the client paging and without one response having to
// hold it. Each chunk is yielded as a RangeResult holding its slice of the keys, in order;
// only the last carries Header (whose Revision is the one every chunk was read at), More and
// Count, so that the chunks merged make the RangeResult a Range would return.
//
// Options are Range's, but the server refuses a sort order other than by key ascending and
// revision filters, and servers before 3.7 refuse the call: both with ErrNotSupported.
// Breaking out of the loop ends the stream. An error ends it too: it is yielded once, last.
// Until the first chunk comes, a stream refused for an expired token or that reached no
// server is opened again (three attempts in all); a failure after it ends the read, whose
// revision is not known before the last chunk.
//
// KV.RangeStream is 3.7's: stubs of older releases lack its response message, so the call is
// made by method path, the request marshalled as the RangeRequest it is and each response
// (RangeStreamResponse: range_response = 1) decoded here (see rangeStreamCodec).
func (c *Client) RangeStream(ctx context.Context, r KeyRange, opts ...ReadOption) iter.Seq2[RangeResult, error] {
	return func(yield func(RangeResult, error) bool) {
		const op = "range" // a read: an oversized chunk is ErrResponseTooLarge
		req, err := c.readRequest(op, r, opts)
		if err != nil {
			yield(RangeResult{}, err)
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // ends the stream when the loop breaks
		received := false
		for attempt := 1; ; attempt++ {
			stream, err := c.openRangeStream(ctx, req)
			for err == nil {
				resp := new(etcdserverpb.RangeResponse)
				if err = stream.RecvMsg(resp); err != nil {
					break
				}
				received = true
				if !yield(c.rangeResult(resp), nil) {
					return
				}
			}
			if errors.Is(err, io.EOF) {
				return
			}
			// Before the first chunk, a stream refused for its token (renewed since) or that
			// reached no server is opened again, as Range is sent again; after it, the
			// revision the chunks were read at is not known yet, so the read cannot resume.
			again := tokenRejected(err) || retryable(methodRange, err)
			if received || !again || attempt == maxStreamAttempts || ctx.Err() != nil {
				yield(RangeResult{}, opError(op, string(r.Key), err))
				return
			}
		}
	}
}

// maxStreamAttempts bounds how often RangeStream opens its stream before the first chunk.
const maxStreamAttempts = 3

// rangeStreamDesc describes KV.RangeStream: one request, a stream of responses.
var rangeStreamDesc = grpc.StreamDesc{StreamName: "RangeStream", ServerStreams: true}

// rangeStreamCall is the one call option of every KV.RangeStream call.
var rangeStreamCall = grpc.ForceCodecV2(rangeStreamCodec{})

// openRangeStream sends req on a new KV.RangeStream call, whose responses are received with
// RecvMsg into a *etcdserverpb.RangeResponse each.
func (c *Client) openRangeStream(ctx context.Context, req *etcdserverpb.RangeRequest) (grpc.ClientStream, error) {
	stream, err := c.conn.NewStream(ctx, &rangeStreamDesc, "/etcdserverpb.KV/RangeStream", rangeStreamCall)
	if err != nil {
		return nil, err
	}
	// A send that fails with io.EOF means the call is over; its status comes with RecvMsg.
	if err := stream.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	return stream, nil
}

// rangeStreamCodec is KV.RangeStream's codec: it marshals the request, a RangeRequest, as
// protobuf does, and decodes each response (a RangeStreamResponse) into the RangeResponse it
// wraps, a *etcdserverpb.RangeResponse. Each key-value is copied once out of grpc-go's
// receive buffers, into blocks of its own, and its key and value refer into that copy (with
// the generated codec; protobuf's copies each of them): a key kept keeps its block.
type rangeStreamCodec struct{}

func (rangeStreamCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

// Unmarshal decodes a chunk as it lies in grpc-go's receive buffers, into a RangeResponse
// (see decodeChunk) or a scanChunk. A chunk of any other shape, or one that does not
// decode, is copied whole (see joinBuffers) and decoded from that copy.
func (rangeStreamCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if chunk, ok := v.(*scanChunk); ok {
		return chunk.unmarshal(data)
	}
	resp := v.(*etcdserverpb.RangeResponse)
	if decodeChunk(data, resp) {
		return nil
	}
	*resp = etcdserverpb.RangeResponse{}
	return decodeRangeStreamResponse(joinBuffers(data), resp)
}

// joinBuffers copies data into one slice with bytes.Join, which does not zero the copy
// first, as make and so BufferSlice.Materialize do.
func joinBuffers(data mem.BufferSlice) []byte {
	parts := make([][]byte, len(data))
	for i, b := range data {
		parts[i] = b.ReadOnlyData()
	}
	return bytes.Join(parts, nil)
}

// Name is proto's, so that the server reads the request as the protobuf message it is.
func (rangeStreamCodec) Name() string { return "proto" }

// errMalformedChunk is the cause of a RangeStreamResponse that does not decode.
var errMalformedChunk = errors.New("etcd: malformed RangeStreamResponse")

// kitMerger is a message with the generated codec's MergeKit (see kitMessage), which
// decodes without copying: the decoded bytes fields refer to the encoding.
type kitMerger interface {
	MergeKit(b []byte) error
}

// decodeRangeStreamResponse decodes the RangeResponse inside a RangeStreamResponse into resp;
// a field given twice is merged, as proto.Unmarshal does. resp's keys and values refer to
// msg, which must not change afterwards.
func decodeRangeStreamResponse(msg []byte, resp *etcdserverpb.RangeResponse) error {
	merge := func(b []byte) error { return proto.UnmarshalOptions{Merge: true}.Unmarshal(b, resp) }
	if m, ok := any(resp).(kitMerger); ok {
		merge = m.MergeKit
	}
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return fmt.Errorf("%w: %w", errMalformedChunk, protowire.ParseError(n))
		}
		msg = msg[n:]
		if num == 1 && typ == protowire.BytesType {
			var b []byte
			b, n = protowire.ConsumeBytes(msg)
			if n >= 0 {
				if err := merge(b); err != nil {
					return fmt.Errorf("%w: %w", errMalformedChunk, err)
				}
			}
		} else {
			n = protowire.ConsumeFieldValue(num, typ, msg)
		}
		if n < 0 {
			return fmt.Errorf("%w: %w", errMalformedChunk, protowire.ParseError(n))
		}
		msg = msg[n:]
	}
	return nil
}

// chunkBlock is the size of the blocks readChunk copies key-values into: small enough to
// be one of the runtime's small objects, whose spans are reused after a collection, where
// a copy of a whole chunk (up to a megabyte and more) is a large object, whose pages the
// runtime gives back to the kernel and has to fault in again.
const chunkBlock = 32 << 10

// decodeChunk decodes the RangeStreamResponse in data into resp, reading it where grpc-go
// received it (see readChunk): each key-value is decoded in its block, its key and value
// referring into it, and the response's other fields are merged at the end. It reports
// false, with resp unchanged or partly decoded, where readChunk does or a key-value does not
// decode: the caller then decodes the chunk the general way.
func decodeChunk(data mem.BufferSlice, resp *etcdserverpb.RangeResponse) bool {
	if _, ok := any((*mvccpb.KeyValue)(nil)).(kitMerger); !ok {
		return false // stubs without the generated codec
	}
	kvs, other, ok := readChunk(data)
	if !ok {
		return false
	}
	slab := make([]mvccpb.KeyValue, len(kvs))
	for i, kv := range kvs {
		if decodeKeyValue(kv, &slab[i]) != nil {
			return false
		}
	}
	for i := range slab {
		resp.Kvs = append(resp.Kvs, &slab[i])
	}
	if len(other) > 0 {
		if m, ok := any(resp).(kitMerger); !ok || m.MergeKit(other) != nil {
			return false
		}
	}
	return true
}

// decodeKeyValue decodes a key-value's encoding into kv, replacing what kv held. With the
// generated codec, kv's key and value refer to enc; protobuf's copies them.
func decodeKeyValue(enc []byte, kv *mvccpb.KeyValue) error {
	var err error
	if m, ok := any(kv).(kitMerger); ok {
		kv.Reset()
		err = m.MergeKit(enc)
	} else {
		err = proto.Unmarshal(enc, kv)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errMalformedChunk, err)
	}
	return nil
}

// readChunk reads the RangeStreamResponse in data where grpc-go received it. It returns each
// key-value's encoding, copied into a block (a key-value larger than a quarter block gets an
// allocation of its own), and the range response's other fields, tags and values as sent.
// It reports false for anything but a plain sequence of range_response fields holding
// length-delimited and scalar fields, or for malformed input.
func readChunk(data mem.BufferSlice) (kvs [][]byte, other []byte, ok bool) {
	r := chunkReader{rest: make([][]byte, 0, len(data))}
	for _, b := range data {
		if d := b.ReadOnlyData(); len(d) > 0 {
			r.rest = append(r.rest, d)
			r.n += len(d)
		}
	}
	r.skip(0) // takes up the first buffer
	var block []byte
	for r.n > 0 {
		if tag, ok := r.varint(); !ok || tag != 1<<3|uint64(protowire.BytesType) {
			return nil, nil, false
		}
		n, ok := r.varint()
		if !ok || n > uint64(r.n) {
			return nil, nil, false
		}
		// end is how much is left after this range response; every read below stays
		// within it.
		for end := r.n - int(n); r.n > end; {
			tag, ok := r.varint()
			if !ok || r.n < end || tag>>3 == 0 || tag>>3 > uint64(protowire.MaxValidNumber) {
				return nil, nil, false
			}
			switch protowire.Type(tag & 7) {
			case protowire.BytesType:
				m, ok := r.varint()
				if !ok || r.n < end || m > uint64(r.n-end) {
					return nil, nil, false
				}
				if tag>>3 == 2 {
					var kv []byte
					switch {
					case m > chunkBlock/4:
						kv = make([]byte, m)
					case uint64(cap(block)-len(block)) < m:
						block = make([]byte, 0, chunkBlock)
						fallthrough
					default:
						k := len(block)
						block = block[:k+int(m)]
						kv = block[k:len(block):len(block)]
					}
					r.read(kv)
					kvs = append(kvs, kv)
					continue
				}
				other = protowire.AppendVarint(protowire.AppendVarint(other, tag), m)
				other = r.append(other, int(m))
			case protowire.VarintType:
				x, ok := r.varint()
				if !ok || r.n < end {
					return nil, nil, false
				}
				other = protowire.AppendVarint(protowire.AppendVarint(other, tag), x)
			default:
				return nil, nil, false // fixed-size values and groups: none in a RangeResponse
			}
		}
	}
	return kvs, other, true
}

// chunkReader reads a message spread over buffers.
type chunkReader struct {
	cur  []byte   // the unread part of the buffer being read; empty only at the end
	rest [][]byte // the buffers after it, none empty
	n    int      // bytes left in all
}

// varint reads a varint, or reports false if the buffers end inside it or it overflows.
// One or two bytes (a key-value's tag and length) are read here; longer ones, and those
// split between buffers, by longVarint.
func (r *chunkReader) varint() (uint64, bool) {
	if r.n > 0 {
		b := r.cur
		if b[0] < 0x80 {
			r.skip(1)
			return uint64(b[0]), true
		}
		if len(b) > 1 && b[1] < 0x80 {
			r.skip(2)
			return uint64(b[0]&0x7f) | uint64(b[1])<<7, true
		}
	}
	return r.longVarint()
}

// longVarint reads a varint as varint does. protowire decodes it: in place when the first
// buffer holds it, else from its first ten bytes gathered across the buffers.
func (r *chunkReader) longVarint() (uint64, bool) {
	if r.n == 0 {
		return 0, false
	}
	b := r.cur
	if len(b) < 10 && r.n > len(b) {
		var gathered [10]byte
		b = gathered[:min(r.n, 10)]
		r.peek(b)
	}
	x, k := protowire.ConsumeVarint(b)
	if k < 0 {
		return 0, false
	}
	for k > 0 { // the varint may run into the next buffers
		n := min(k, len(r.cur))
		r.skip(n)
		k -= n
	}
	return x, true
}

// peek fills dst, which is no longer than what is left, without moving past it.
func (r *chunkReader) peek(dst []byte) {
	dst = dst[copy(dst, r.cur):]
	for i := 0; len(dst) > 0; i++ {
		dst = dst[copy(dst, r.rest[i]):]
	}
}

// read fills dst, which is no longer than what is left.
func (r *chunkReader) read(dst []byte) {
	for len(dst) > 0 {
		k := copy(dst, r.cur)
		dst = dst[k:]
		r.skip(k)
	}
}

// append appends the next n bytes, no more than are left, to b.
func (r *chunkReader) append(b []byte, n int) []byte {
	k := len(b)
	b = slices.Grow(b, n)[:k+n]
	r.read(b[k:])
	return b
}

// skip moves past n bytes of the buffer being read, which holds them. The reader is a
// local value: moving along writes no pointer to the heap, so it costs the collector's
// write barrier nothing.
func (r *chunkReader) skip(n int) {
	r.cur = r.cur[n:]
	r.n -= n
	if len(r.cur) == 0 && len(r.rest) > 0 {
		r.cur, r.rest = r.rest[0], r.rest[1:]
	}
}
