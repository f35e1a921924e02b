package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
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
// wraps, a *etcdserverpb.RangeResponse. A chunk is copied once out of grpc-go's receive
// buffers, into memory of its own, and its keys and values refer into that copy (with the
// generated codec; protobuf's copies each of them): a key kept keeps its chunk's copy.
type rangeStreamCodec struct{}

func (rangeStreamCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

// Unmarshal copies the chunk with bytes.Join, which does not zero the copy first as make
// (and so BufferSlice.Materialize) does.
func (rangeStreamCodec) Unmarshal(data mem.BufferSlice, v any) error {
	parts := make([][]byte, len(data))
	for i, b := range data {
		parts[i] = b.ReadOnlyData()
	}
	return decodeRangeStreamResponse(bytes.Join(parts, nil), v.(*etcdserverpb.RangeResponse))
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
