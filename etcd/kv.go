package etcd

import (
	"context"
	"sync"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
)

// KeyValue is a key with its value and revisions, as stored by etcd.
type KeyValue struct {
	Key   []byte
	Value []byte
	// CreateRevision is the revision of the key's creation: a natural fencing token.
	CreateRevision int64
	// ModRevision is the revision of the key's last modification.
	ModRevision int64
	// Version counts the modifications since creation (1 for a new key).
	Version int64
	// Lease is the lease the key is attached to; 0 for none.
	Lease LeaseID
}

// Header is the response header every etcd reply carries.
type Header struct {
	ClusterID uint64 // the cluster's ID
	MemberID  uint64 // the ID of the member that answered
	// Revision is the store's revision when the request was served.
	Revision int64
	RaftTerm uint64 // the member's raft term
}

// RangeResult is the answer to a Range.
type RangeResult struct {
	Header Header // the response's header
	// KVs are the keys found (none with CountOnly).
	KVs []KeyValue
	// More reports that Limit cut the result short.
	More bool
	// Count is the number of keys in the range, regardless of Limit.
	Count int64
}

// PutResult is the answer to a Put.
type PutResult struct {
	Header Header // the response's header
	// PrevKV is the replaced key-value when PrevKV was asked and the key existed.
	PrevKV *KeyValue
	// Lease is the lease the put attached the key to (AttachLease, PutWithTTL); 0 for none,
	// and 0 with IgnoreLease, which keeps the key's lease.
	Lease LeaseID
}

// DeleteResult is the answer to a Delete.
type DeleteResult struct {
	Header Header // the response's header
	// Deleted is the number of keys deleted.
	Deleted int64
	// PrevKVs are the deleted key-values when PrevKV was asked.
	PrevKVs []KeyValue
}

// Get reads one key. A missing key is ErrKeyNotFound; a key with an empty value is found.
func (c *Client) Get(ctx context.Context, key string, opts ...ReadOption) (KeyValue, error) {
	call := rangeCalls.Get().(*rangeCall)
	if err := c.setReadRequest("get", &call.req, KeyRange{Key: wire(key)}, opts); err != nil {
		return KeyValue{}, err
	}
	if err := c.invoke(ctx, etcdserverpb.KV_Range_FullMethodName, &call.req, &call.reply); err != nil {
		return KeyValue{}, opError("get", key, err)
	}
	kvs := call.reply.GetKvs()
	if len(kvs) == 0 {
		recycle(&rangeCalls, call)
		return KeyValue{}, &Error{Op: "get", Key: key, Err: ErrKeyNotFound}
	}
	kv := c.keyValue(kvs[0])
	recycle(&rangeCalls, call)
	return kv, nil
}

// Range reads the keys in r: by default every key, linearizably, at the newest revision, in
// key order. Options limit, sort, filter and pin the read.
func (c *Client) Range(ctx context.Context, r KeyRange, opts ...ReadOption) (RangeResult, error) {
	call := rangeCalls.Get().(*rangeCall)
	if err := c.setReadRequest("range", &call.req, r, opts); err != nil {
		return RangeResult{}, err
	}
	if err := c.invoke(ctx, etcdserverpb.KV_Range_FullMethodName, &call.req, &call.reply); err != nil {
		return RangeResult{}, opError("range", string(r.Key), err)
	}
	res := c.rangeResult(&call.reply.RangeResponse)
	recycle(&rangeCalls, call)
	return res, nil
}

// rangeCall is a Range call's request and reply in one allocation, which the calls recycle
// through rangeCalls once they have converted the reply. Once a call has returned, gRPC
// holds neither message (nor do the client's hedges: hedged waits for every try), and the
// results keep only the decoded bytes, which each reply allocates anew. A call that fails
// does not recycle its messages.
type rangeCall struct {
	req   etcdserverpb.RangeRequest
	reply rangeReply
}

var rangeCalls = sync.Pool{New: func() any { return new(rangeCall) }}

// recycle clears call, so that pool holds no caller's keys or values, and puts it back.
func recycle[Call any](pool *sync.Pool, call *Call) {
	var zero Call
	*call = zero
	pool.Put(call)
}

// replyRoom is what a preset reply (see presetReply) is allocated with: its header, and the
// arena decoding copies its bytes into.
type replyRoom struct {
	header etcdserverpb.ResponseHeader
	arena  []byte
}

// clear empties the room for a new reply and returns its header.
func (r *replyRoom) clear() *etcdserverpb.ResponseHeader {
	*r = replyRoom{}
	return &r.header
}

// rangeReply is a RangeResponse allocated with its header and one key-value (a Get's), which
// decoding fills (see presetReply; the key-value is preset past the list's length).
type rangeReply struct {
	etcdserverpb.RangeResponse
	room replyRoom
	kv   mvccpb.KeyValue
	kvs  [1]*mvccpb.KeyValue
}

func (r *rangeReply) preset() (any, *[]byte) {
	r.kv = mvccpb.KeyValue{}
	r.kvs[0] = &r.kv
	r.RangeResponse = etcdserverpb.RangeResponse{Header: r.room.clear(), Kvs: r.kvs[:0]}
	return &r.RangeResponse, &r.room.arena
}

// readRequest checks that the client is open and builds the request for the range r; errors
// are named op.
func (c *Client) readRequest(op string, r KeyRange, opts []ReadOption) (*etcdserverpb.RangeRequest, error) {
	req := new(etcdserverpb.RangeRequest)
	if err := c.setReadRequest(op, req, r, opts); err != nil {
		return nil, err
	}
	return req, nil
}

// setReadRequest is readRequest into req.
func (c *Client) setReadRequest(op string, req *etcdserverpb.RangeRequest, r KeyRange, opts []ReadOption) error {
	if c.isClosed() { // not c.check: string(r.Key) would cost every call an allocation
		return &Error{Op: op, Key: string(r.Key), Err: ErrClosed}
	}
	if err := c.setRangeRequest(req, r, opts); err != nil {
		return &Error{Op: op, Key: string(r.Key), Err: err}
	}
	return nil
}

// invoke makes one KV call on the client's connection. It goes around the generated KV
// client on purpose: the stub passes a call option of its own, and grpc-go then merges it with
// the connection's default call options (dialOptions sets the same StaticMethod among them) at
// the cost of an allocation per call; without per-call options grpc-go merges nothing. The
// exported methods call it themselves (it is inlined) rather than through a helper that waits:
// every frame on the stack of a call in flight is walked by each garbage collection.
func (c *Client) invoke(ctx context.Context, method string, req, resp proto.Message) error {
	return c.conn.Invoke(ctx, method, req, resp)
}

// rangeRequest builds the wire request for r inside the namespace.
func (c *Client) rangeRequest(r KeyRange, opts []ReadOption) (*etcdserverpb.RangeRequest, error) {
	req := new(etcdserverpb.RangeRequest)
	if err := c.setRangeRequest(req, r, opts); err != nil {
		return nil, err
	}
	return req, nil
}

// setRangeRequest is rangeRequest into req, which is zero.
func (c *Client) setRangeRequest(req *etcdserverpb.RangeRequest, r KeyRange, opts []ReadOption) error {
	if err := r.validate(); err != nil {
		return err
	}
	req.Key, req.RangeEnd = c.ns.keyRange(r)
	for _, o := range opts {
		o.applyRange(req)
	}
	return nil
}

func (c *Client) rangeResult(resp *etcdserverpb.RangeResponse) RangeResult {
	return RangeResult{
		Header: header(resp.GetHeader()),
		KVs:    c.keyValues(resp.GetKvs()),
		More:   resp.GetMore(),
		Count:  resp.GetCount(),
	}
}

// Put writes value under key. It is sent at most once: when it fails with ErrUnavailable or a
// context error it may or may not have been applied.
func (c *Client) Put(ctx context.Context, key, value string, opts ...PutOption) (PutResult, error) {
	if err := c.check("put", key); err != nil {
		return PutResult{}, err
	}
	call := putCalls.Get().(*putCall)
	if err := c.setPutRequest(&call.req, key, value, opts); err != nil {
		return PutResult{}, &Error{Op: "put", Key: key, Err: err}
	}
	if err := c.invoke(ctx, etcdserverpb.KV_Put_FullMethodName, &call.req, &call.reply); err != nil {
		return PutResult{}, opError("put", key, err)
	}
	res := c.putResult(&call.req, &call.reply.PutResponse)
	recycle(&putCalls, call)
	return res, nil
}

// putCall is a Put call's request and reply in one allocation, recycled as rangeCall is.
type putCall struct {
	req   etcdserverpb.PutRequest
	reply putReply
}

var putCalls = sync.Pool{New: func() any { return new(putCall) }}

// putReply is a PutResponse allocated with its header, which decoding fills (see
// presetReply).
type putReply struct {
	etcdserverpb.PutResponse
	room replyRoom
}

func (r *putReply) preset() (any, *[]byte) {
	r.PutResponse = etcdserverpb.PutResponse{Header: r.room.clear()}
	return &r.PutResponse, &r.room.arena
}

// setPutRequest builds the wire request of a put inside the namespace into req, which is
// zero.
func (c *Client) setPutRequest(req *etcdserverpb.PutRequest, key, value string, opts []PutOption) error {
	if key == "" {
		return errEmptyKey
	}
	req.Key, req.Value = c.ns.keyOf(key), wire(value)
	for _, o := range opts {
		o.applyPut(req)
	}
	return nil
}

func (c *Client) putResult(req *etcdserverpb.PutRequest, resp *etcdserverpb.PutResponse) PutResult {
	res := PutResult{Header: header(resp.GetHeader()), Lease: LeaseID(req.GetLease())}
	if prev := resp.GetPrevKv(); prev != nil {
		kv := c.keyValue(prev)
		res.PrevKV = &kv
	}
	return res
}

// Delete removes the keys in r. Like Put, it is sent at most once.
func (c *Client) Delete(ctx context.Context, r KeyRange, opts ...DeleteOption) (DeleteResult, error) {
	if c.isClosed() { // see rangeCall
		return DeleteResult{}, &Error{Op: "delete", Key: string(r.Key), Err: ErrClosed}
	}
	req, err := c.deleteRequest(r, opts)
	if err != nil {
		return DeleteResult{}, &Error{Op: "delete", Key: string(r.Key), Err: err}
	}
	resp := new(etcdserverpb.DeleteRangeResponse)
	if err := c.invoke(ctx, etcdserverpb.KV_DeleteRange_FullMethodName, req, resp); err != nil {
		return DeleteResult{}, opError("delete", string(r.Key), err)
	}
	return c.deleteResult(resp), nil
}

func (c *Client) deleteRequest(r KeyRange, opts []DeleteOption) (*etcdserverpb.DeleteRangeRequest, error) {
	req := new(etcdserverpb.DeleteRangeRequest)
	if err := c.setDeleteRequest(req, r, opts); err != nil {
		return nil, err
	}
	return req, nil
}

// setDeleteRequest is deleteRequest into req, which is zero.
func (c *Client) setDeleteRequest(req *etcdserverpb.DeleteRangeRequest, r KeyRange, opts []DeleteOption) error {
	if err := r.validate(); err != nil {
		return err
	}
	req.Key, req.RangeEnd = c.ns.keyRange(r)
	for _, o := range opts {
		o.applyDelete(req)
	}
	return nil
}

func (c *Client) deleteResult(resp *etcdserverpb.DeleteRangeResponse) DeleteResult {
	return DeleteResult{
		Header:  header(resp.GetHeader()),
		Deleted: resp.GetDeleted(),
		PrevKVs: c.keyValues(resp.GetPrevKvs()),
	}
}

// Compact discards the history before rev; watches and reads at older revisions then fail
// with ErrCompacted. It returns once the compaction is applied to the members' databases.
func (c *Client) Compact(ctx context.Context, rev int64) (Header, error) {
	if err := c.check("compact", ""); err != nil {
		return Header{}, err
	}
	req := &etcdserverpb.CompactionRequest{Revision: rev, Physical: true}
	resp := new(etcdserverpb.CompactionResponse)
	if err := c.invoke(ctx, etcdserverpb.KV_Compact_FullMethodName, req, resp); err != nil {
		return Header{}, opError("compact", "", err)
	}
	return header(resp.GetHeader()), nil
}

// wire views s as bytes for a request field, without copying it. Requests are only ever read
// (by the marshaller, and by interceptors, which must not modify them), never written, so they
// may share the string's memory: that saves a copy of every key and value a call sends, which
// is most of what the garbage collector would otherwise have to reclaim for the call.
func wire(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// errEmptyKey is the cause of every call made with an empty key.
var errEmptyKey = wrapArg("empty key")

// wrapArg makes an ErrInvalidArgument with a reason.
func wrapArg(reason string) error { return &argError{reason} }

// argError is a client-side ErrInvalidArgument with its reason.
type argError struct{ reason string }

func (e *argError) Error() string        { return "invalid argument: " + e.reason }
func (e *argError) Is(target error) bool { return target == ErrInvalidArgument }

func header(h *etcdserverpb.ResponseHeader) Header {
	return Header{
		ClusterID: h.GetClusterId(),
		MemberID:  h.GetMemberId(),
		Revision:  h.GetRevision(),
		RaftTerm:  h.GetRaftTerm(),
	}
}

func (c *Client) keyValue(kv *mvccpb.KeyValue) KeyValue {
	return KeyValue{
		Key:            c.ns.strip(kv.GetKey()),
		Value:          kv.GetValue(),
		CreateRevision: kv.GetCreateRevision(),
		ModRevision:    kv.GetModRevision(),
		Version:        kv.GetVersion(),
		Lease:          LeaseID(kv.GetLease()),
	}
}

func (c *Client) keyValues(kvs []*mvccpb.KeyValue) []KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]KeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = c.keyValue(kv)
	}
	return out
}
