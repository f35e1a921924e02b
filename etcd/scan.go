package etcd

import (
	"context"
	"errors"
	"io"
	"iter"
	"sync/atomic"
	"time"
	"unsafe"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
)

// defaultPageSize is Scan's page size when no Limit is given.
const defaultPageSize = 1000

// streamedFirstPage bounds the first page of a scan whose other keys may stream.
const streamedFirstPage = 100

// Scan reads every key in r in key order, all at one revision: the revision of the first
// page unless AtRevision pins another. It reads ranges of any size, beyond what one response
// may carry. On servers with KV.RangeStream (etcd 3.7+) the keys after the first page (of at
// most 100 keys there) come over one stream, in chunks the server sizes; a stream that breaks
// is opened again from the key after the last one received, at the same revision. Elsewhere
// it pages with Range, and a page the client cannot receive is split automatically. Limit
// sets the page size (default 1000); Sort and CountOnly do not apply and yield an error.
//
// Breaking out of the loop ends the scan. An error ends it too: it is yielded once, last.
// The keys and values of one page, or of up to 32 KiB of a streamed chunk, share one
// allocation, which a key kept keeps alive: copy the few kept out of a large scan.
//
// Resume invariant: req.Key is always the first key not yet yielded and req.Revision, once
// set, the revision every key is read at, so any page or stream may start again from req.
func (c *Client) Scan(ctx context.Context, r KeyRange, opts ...ReadOption) iter.Seq2[KeyValue, error] {
	return func(yield func(KeyValue, error) bool) {
		req, err := c.scanRequest(r, opts)
		if err != nil {
			yield(KeyValue{}, &Error{Op: "scan", Key: string(r.Key), Err: err})
			return
		}
		stream := !filtered(req)
		for {
			if err := c.check("scan", string(r.Key)); err != nil {
				yield(KeyValue{}, err)
				return
			}
			if stream && req.Revision != 0 && !c.scanState().noStream.Load() {
				done, err := c.scanStream(ctx, req, yield)
				switch {
				case done:
					return
				case status.Code(err) == codes.Unimplemented:
					c.scanState().noStream.Store(true) // a server before 3.7: page from now on
					continue
				case errors.Is(opError("scan", "", err), ErrResponseTooLarge):
					stream = false // a chunk over MaxResponseBytes: page the rest in smaller steps
					continue
				}
				yield(KeyValue{}, opError("scan", string(r.Key), err))
				return
			}
			resp := new(etcdserverpb.RangeResponse)
			pageSize := req.Limit
			if stream && req.Revision == 0 && !c.scanState().noStream.Load() {
				// The rest will stream: the first page is read for its revision, and a few
				// keys keep it small (the scan's memory, the time to its first key).
				req.Limit = min(req.Limit, streamedFirstPage)
			}
			err := c.invoke(ctx, etcdserverpb.KV_Range_FullMethodName, req, resp)
			sent := req.Limit
			req.Limit = pageSize
			if errors.Is(opError("scan", "", err), ErrResponseTooLarge) && sent > 1 {
				req.Limit = sent / 2
				continue
			}
			if err != nil {
				yield(KeyValue{}, opError("scan", string(r.Key), err))
				return
			}
			if req.Revision == 0 {
				req.Revision = resp.GetHeader().GetRevision()
			}
			kvs := resp.GetKvs()
			for _, kv := range kvs {
				if !yield(c.keyValue(kv), nil) {
					return
				}
			}
			if !resp.GetMore() || len(kvs) == 0 {
				return
			}
			req.Key = keyAfter(kvs[len(kvs)-1].GetKey())
		}
	}
}

// keyAfter returns the smallest key greater than key.
func keyAfter(key []byte) []byte {
	return append(append(make([]byte, 0, len(key)+1), key...), 0)
}

// filtered reports whether req filters by revision, which KV.RangeStream refuses.
func filtered(req *etcdserverpb.RangeRequest) bool {
	return req.MinModRevision != 0 || req.MaxModRevision != 0 || req.MinCreateRevision != 0 || req.MaxCreateRevision != 0
}

// scanShared is what a client's scans share: whether its servers lack KV.RangeStream.
type scanShared struct {
	noStream atomic.Bool // set when a server answered RangeStream with Unimplemented
}

// scanState returns the client's scanShared, made on first use.
func (c *Client) scanState() *scanShared {
	return (*scanShared)(c.part("scan", func() unsafe.Pointer { return unsafe.Pointer(new(scanShared)) }))
}

// scanStream reads the rest of req's range over KV.RangeStream at req.Revision, yielding each
// key and moving req.Key past it. done is true when the range has been read or the caller
// broke the loop. A stream that fails after bringing keys, or before its first chunk for a
// reason a read may be sent again for, is opened again from req.Key, at most
// maxStreamAttempts times in a row without a key; any other failure is returned, with
// req still at the first key not yielded.
func (c *Client) scanStream(ctx context.Context, req *etcdserverpb.RangeRequest, yield func(KeyValue, error) bool) (done bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream when the loop breaks
	// The stream reads to the end of the range: Scan's Limit is a page size, not a total.
	sreq := &etcdserverpb.RangeRequest{
		Key: req.Key, RangeEnd: req.RangeEnd, Revision: req.Revision,
		KeysOnly: req.KeysOnly, Serializable: req.Serializable,
	}
	var bo *backoff            // made on the first failure: most scans need none
	kv := new(mvccpb.KeyValue) // each key-value in turn, decoded as it is yielded
	for failures := 0; ; {
		sreq.Key = req.Key
		stream, err := c.openRangeStream(ctx, sreq)
		for err == nil {
			var chunk scanChunk
			if err = stream.RecvMsg(&chunk); err != nil {
				break
			}
			for _, enc := range chunk.kvs {
				if err := decodeKeyValue(enc, kv); err != nil {
					return false, err
				}
				if !yield(c.keyValue(kv), nil) {
					return true, nil
				}
			}
			if len(chunk.kvs) > 0 {
				req.Key = keyAfter(kv.GetKey())
				failures = 0
				if bo != nil {
					bo.reset()
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		failures++
		again := tokenRejected(err) || retryable(methodRange, err)
		if !again || failures == maxStreamAttempts || ctx.Err() != nil {
			return false, err
		}
		c.log.Debug("etcd: scan stream broken, reading on from the last key", "revision", req.Revision, "err", err)
		if bo == nil {
			bo = newBackoff()
		}
		t := time.NewTimer(bo.next())
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C:
		}
	}
}

// scanChunk is a KV.RangeStream response as Scan receives it (see rangeStreamCodec): the
// encodings of its key-values, each decoded only as it is yielded, so that a chunk of many
// keys holds no decoded messages, which the collector would scan.
type scanChunk struct {
	kvs [][]byte // each key-value's encoding, in blocks of the chunk's own
}

// unmarshal reads the RangeStreamResponse in data (see readChunk). A chunk readChunk does
// not take is decoded the general way, and its key-values encoded again.
func (s *scanChunk) unmarshal(data mem.BufferSlice) error {
	if kvs, _, ok := readChunk(data); ok {
		s.kvs = kvs
		return nil
	}
	resp := new(etcdserverpb.RangeResponse)
	if err := decodeRangeStreamResponse(joinBuffers(data), resp); err != nil {
		return err
	}
	s.kvs = make([][]byte, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		enc, err := proto.Marshal(kv)
		if err != nil {
			return err
		}
		s.kvs[i] = enc
	}
	return nil
}

// scanRequest builds the first page's request and rejects options that break paging.
func (c *Client) scanRequest(r KeyRange, opts []ReadOption) (*etcdserverpb.RangeRequest, error) {
	req, err := c.rangeRequest(r, opts)
	if err != nil {
		return nil, err
	}
	if req.SortTarget != etcdserverpb.RangeRequest_KEY || req.SortOrder == etcdserverpb.RangeRequest_DESCEND {
		return nil, wrapArg("Scan pages in key order: Sort does not apply")
	}
	if req.CountOnly {
		return nil, wrapArg("Scan returns keys: use Range with CountOnly to count")
	}
	if req.Limit <= 0 {
		req.Limit = defaultPageSize
	}
	return req, nil
}
