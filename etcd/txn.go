package etcd

import (
	"context"
	"fmt"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// Txn is a transaction as a value: if every comparison in If holds, the server applies Then,
// otherwise Else, atomically. An empty If always holds.
type Txn struct {
	If   []Cmp
	Then []Op
	Else []Op
}

// TxnResult is the answer to a Txn.
type TxnResult struct {
	Header Header // the response's header
	// Succeeded reports whether If held, so Then was applied (else Else).
	Succeeded bool
	// Results has one entry per applied operation, in order.
	Results []OpResult
}

// OpResult is the result of one operation in a transaction: exactly one field is set, the one
// matching the operation.
type OpResult struct {
	Get    *RangeResult  // the result of an OpGet
	Put    *PutResult    // the result of an OpPut
	Delete *DeleteResult // the result of an OpDelete
	Txn    *TxnResult    // the result of an OpTxn
}

// Op is an operation inside a transaction: build it with OpGet, OpPut, OpDelete or OpTxn. The
// zero Op is invalid and makes the transaction fail with ErrInvalidArgument.
type Op struct {
	kind  opKind
	r     KeyRange // get, delete
	key   string   // put
	value string   // put
	read  []ReadOption
	put   []PutOption
	del   []DeleteOption
	txn   *Txn
}

type opKind uint8

const (
	opInvalid opKind = iota
	opGet
	opPut
	opDelete
	opTxn
)

// OpGet reads the keys in r.
func OpGet(r KeyRange, opts ...ReadOption) Op { return Op{kind: opGet, r: r, read: opts} }

// OpPut writes value under key.
func OpPut(key, value string, opts ...PutOption) Op {
	return Op{kind: opPut, key: key, value: value, put: opts}
}

// OpDelete removes the keys in r.
func OpDelete(r KeyRange, opts ...DeleteOption) Op { return Op{kind: opDelete, r: r, del: opts} }

// OpTxn nests a transaction (etcd 3.3 and later).
func OpTxn(t Txn) Op { return Op{kind: opTxn, txn: &t} }

// name names the operation in errors: its key, or a nested transaction's first key.
func (op Op) name() string {
	switch op.kind {
	case opPut:
		return op.key
	case opTxn:
		return op.txn.firstKey()
	}
	return string(op.r.Key)
}

// requestOp builds the wire operation inside the namespace, in room's space while it lasts.
func (c *Client) requestOp(op Op, room *txnRoom) (*etcdserverpb.RequestOp, error) {
	out := room.op.take()
	switch op.kind {
	case opGet:
		w := room.get.take()
		w.op.RequestRange = &w.req
		out.Request = &w.op
		return out, c.setRangeRequest(&w.req, op.r, op.read)
	case opPut:
		w := room.put.take()
		w.op.RequestPut = &w.req
		out.Request = &w.op
		return out, c.setPutRequest(&w.req, op.key, op.value, op.put)
	case opDelete:
		w := new(deleteOp)
		w.op.RequestDeleteRange = &w.req
		out.Request = &w.op
		return out, c.setDeleteRequest(&w.req, op.r, op.del)
	case opTxn:
		req, err := c.txnRequest(*op.txn)
		out.Request = &etcdserverpb.RequestOp_RequestTxn{RequestTxn: req}
		return out, err
	}
	return nil, wrapArg("zero Op (build operations with OpGet, OpPut, OpDelete, OpTxn)")
}

// txnRoom is a transaction's request and reply allocated with room for the messages a
// small one holds: a compare-and-swap (one comparison, a put in one branch and a get in the
// other) takes one allocation rather than twelve. What does not fit is allocated on its own.
type txnRoom struct {
	req   etcdserverpb.TxnRequest
	reply txnReply
	cmps  [1]*etcdserverpb.Compare   // req.Compare, when there is one
	ops   [2]*etcdserverpb.RequestOp // req.Success and req.Failure, when they hold two
	cmp   slot[etcdserverpb.Compare]
	value slot[etcdserverpb.Compare_Value]
	mod   slot[etcdserverpb.Compare_ModRevision]
	op    slots[etcdserverpb.RequestOp]
	get   slot[getOp]
	put   slot[putOp]
	// No room for a delete: the room would grow into the next size class of Go's allocator.
}

// getOp, putOp and deleteOp are an operation of a transaction with its request.
type (
	getOp struct {
		op  etcdserverpb.RequestOp_RequestRange
		req etcdserverpb.RangeRequest
	}
	putOp struct {
		op  etcdserverpb.RequestOp_RequestPut
		req etcdserverpb.PutRequest
	}
	deleteOp struct {
		op  etcdserverpb.RequestOp_RequestDeleteRange
		req etcdserverpb.DeleteRangeRequest
	}
)

// txnReply is a TxnResponse allocated with its header, which decoding fills (see
// presetReply).
type txnReply struct {
	etcdserverpb.TxnResponse
	room replyRoom
}

func (r *txnReply) preset() (any, *[]byte) {
	r.TxnResponse = etcdserverpb.TxnResponse{Header: r.room.clear()}
	return &r.TxnResponse, &r.room.arena
}

// slot is room for one T: take hands it out once, then allocates.
type slot[T any] struct {
	v     T
	taken bool
}

func (s *slot[T]) take() *T {
	if s.taken {
		return new(T)
	}
	s.taken = true
	return &s.v
}

// slots is room for two Ts, handed out as slot's.
type slots[T any] struct {
	v     [2]T
	taken int
}

func (s *slots[T]) take() *T {
	if s.taken == len(s.v) {
		return new(T)
	}
	s.taken++
	return &s.v[s.taken-1]
}

// Cmp is one comparison of a transaction's If: build it from a target, as in
// CompareValue(Key("k")).Equal("v") or CompareModRevision(Key("k")).Less(10). Over a range, it
// holds when it holds for every key in the range. The zero Cmp is invalid.
type Cmp struct {
	r      KeyRange
	target etcdserverpb.Compare_CompareTarget
	result etcdserverpb.Compare_CompareResult
	value  []byte
	number int64
	valid  bool
}

// ValueTarget compares the value of the keys in a range.
type ValueTarget struct{ r KeyRange }

// NumberTarget compares a number of the keys in a range: a version, a revision or a lease.
type NumberTarget struct {
	r      KeyRange
	target etcdserverpb.Compare_CompareTarget
}

// CompareValue compares the value of the keys in r.
func CompareValue(r KeyRange) ValueTarget { return ValueTarget{r} }

// CompareVersion compares the version of the keys in r (0 for a missing key).
func CompareVersion(r KeyRange) NumberTarget {
	return NumberTarget{r, etcdserverpb.Compare_VERSION}
}

// CompareCreateRevision compares the create revision of the keys in r (0 for a missing key).
func CompareCreateRevision(r KeyRange) NumberTarget {
	return NumberTarget{r, etcdserverpb.Compare_CREATE}
}

// CompareModRevision compares the mod revision of the keys in r (0 for a missing key).
func CompareModRevision(r KeyRange) NumberTarget {
	return NumberTarget{r, etcdserverpb.Compare_MOD}
}

// CompareLease compares the lease of the keys in r (0 for none).
func CompareLease(r KeyRange) NumberTarget {
	return NumberTarget{r, etcdserverpb.Compare_LEASE}
}

func (t ValueTarget) cmp(res etcdserverpb.Compare_CompareResult, v string) Cmp {
	return Cmp{r: t.r, target: etcdserverpb.Compare_VALUE, result: res, value: wire(v), valid: true}
}

// Equal holds when the value is v.
func (t ValueTarget) Equal(v string) Cmp { return t.cmp(etcdserverpb.Compare_EQUAL, v) }

// NotEqual holds when the value is not v.
func (t ValueTarget) NotEqual(v string) Cmp { return t.cmp(etcdserverpb.Compare_NOT_EQUAL, v) }

// Less holds when the value sorts before v, byte-wise.
func (t ValueTarget) Less(v string) Cmp { return t.cmp(etcdserverpb.Compare_LESS, v) }

// Greater holds when the value sorts after v, byte-wise.
func (t ValueTarget) Greater(v string) Cmp { return t.cmp(etcdserverpb.Compare_GREATER, v) }

func (t NumberTarget) cmp(res etcdserverpb.Compare_CompareResult, n int64) Cmp {
	return Cmp{r: t.r, target: t.target, result: res, number: n, valid: true}
}

// Equal holds when the number is n.
func (t NumberTarget) Equal(n int64) Cmp { return t.cmp(etcdserverpb.Compare_EQUAL, n) }

// NotEqual holds when the number is not n.
func (t NumberTarget) NotEqual(n int64) Cmp { return t.cmp(etcdserverpb.Compare_NOT_EQUAL, n) }

// Less holds when the number is below n.
func (t NumberTarget) Less(n int64) Cmp { return t.cmp(etcdserverpb.Compare_LESS, n) }

// Greater holds when the number is above n.
func (t NumberTarget) Greater(n int64) Cmp { return t.cmp(etcdserverpb.Compare_GREATER, n) }

// compare builds the wire comparison inside the namespace, in room's space while it lasts.
func (c *Client) compare(cmp Cmp, room *txnRoom) (*etcdserverpb.Compare, error) {
	if !cmp.valid {
		return nil, wrapArg("zero Cmp (build comparisons with CompareValue, CompareModRevision, ...)")
	}
	if err := cmp.r.validate(); err != nil {
		return nil, err
	}
	out := room.cmp.take()
	out.Target, out.Result = cmp.target, cmp.result
	out.Key, out.RangeEnd = c.ns.keyRange(cmp.r)
	switch cmp.target {
	case etcdserverpb.Compare_VALUE:
		u := room.value.take()
		u.Value = cmp.value
		out.TargetUnion = u
	case etcdserverpb.Compare_VERSION:
		out.TargetUnion = &etcdserverpb.Compare_Version{Version: cmp.number}
	case etcdserverpb.Compare_CREATE:
		out.TargetUnion = &etcdserverpb.Compare_CreateRevision{CreateRevision: cmp.number}
	case etcdserverpb.Compare_MOD:
		u := room.mod.take()
		u.ModRevision = cmp.number
		out.TargetUnion = u
	case etcdserverpb.Compare_LEASE:
		out.TargetUnion = &etcdserverpb.Compare_Lease{Lease: cmp.number}
	}
	return out, nil
}

// Txn applies t atomically. Like Put it is sent at most once.
func (c *Client) Txn(ctx context.Context, t Txn) (TxnResult, error) {
	req, resp, err := c.txn(ctx, "txn", t)
	if err != nil {
		return TxnResult{}, err
	}
	return c.txnResult(req, resp), nil
}

// txn sends t and returns the wire request and the raw response; errors are named op.
func (c *Client) txn(ctx context.Context, op string, t Txn) (*etcdserverpb.TxnRequest, *etcdserverpb.TxnResponse, error) {
	if c.isClosed() {
		return nil, nil, &Error{Op: op, Key: t.firstKey(), Err: ErrClosed}
	}
	room, err := c.buildTxn(t)
	if err != nil {
		return nil, nil, &Error{Op: op, Key: t.firstKey(), Err: err}
	}
	if err := c.invoke(ctx, etcdserverpb.KV_Txn_FullMethodName, &room.req, &room.reply); err != nil {
		return nil, nil, opError(op, t.firstKey(), err)
	}
	return &room.req, &room.reply.TxnResponse, nil
}

// firstKey names a transaction in errors: its first compared or touched key.
func (t Txn) firstKey() string {
	if len(t.If) > 0 {
		return string(t.If[0].r.Key)
	}
	for _, ops := range [][]Op{t.Then, t.Else} {
		if len(ops) > 0 {
			return ops[0].name()
		}
	}
	return ""
}

func (c *Client) txnRequest(t Txn) (*etcdserverpb.TxnRequest, error) {
	room, err := c.buildTxn(t)
	if err != nil {
		return nil, err
	}
	return &room.req, nil
}

// buildTxn builds the wire request for t in a txnRoom of its own.
func (c *Client) buildTxn(t Txn) (*txnRoom, error) {
	room := new(txnRoom)
	req := &room.req
	req.Compare = room.cmps[:0]
	if len(t.If) > len(room.cmps) {
		req.Compare = make([]*etcdserverpb.Compare, 0, len(t.If))
	}
	for i, cmp := range t.If {
		w, err := c.compare(cmp, room)
		if err != nil {
			//lint:ignore ST1005 If names the Txn field
			return nil, fmt.Errorf("If[%d]: %w", i, err)
		}
		req.Compare = append(req.Compare, w)
	}
	ops := room.ops[:0]
	if n := len(t.Then) + len(t.Else); n > len(room.ops) {
		ops = make([]*etcdserverpb.RequestOp, 0, n)
	}
	var err error
	if ops, err = c.requestOps("Then", t.Then, ops, room); err != nil {
		return nil, err
	}
	req.Success = ops[:len(t.Then):len(t.Then)]
	if ops, err = c.requestOps("Else", t.Else, ops, room); err != nil {
		return nil, err
	}
	req.Failure = ops[len(t.Then):]
	return room, nil
}

// requestOps appends the wire operations of one branch to out, named in errors.
func (c *Client) requestOps(branch string, ops []Op, out []*etcdserverpb.RequestOp, room *txnRoom) ([]*etcdserverpb.RequestOp, error) {
	for i, op := range ops {
		w, err := c.requestOp(op, room)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", branch, i, err)
		}
		out = append(out, w)
	}
	return out, nil
}

// txnResult converts the answer to req: the branch that ran gives each put's lease, which the
// server does not echo. The results of one kind share one allocation, and a single put's
// result shares one with Results (most transactions hold one operation or a few of one kind).
func (c *Client) txnResult(req *etcdserverpb.TxnRequest, resp *etcdserverpb.TxnResponse) TxnResult {
	ops := req.GetFailure()
	if resp.GetSucceeded() {
		ops = req.GetSuccess()
	}
	res := TxnResult{Header: header(resp.GetHeader()), Succeeded: resp.GetSucceeded()}
	if rs := resp.GetResponses(); len(rs) == 1 && rs[0].GetResponsePut() != nil && len(ops) == 1 {
		one := new(struct {
			results [1]OpResult
			put     PutResult
		})
		one.put = c.putResult(ops[0].GetRequestPut(), rs[0].GetResponsePut())
		one.results[0].Put = &one.put
		res.Results = one.results[:]
		return res
	}
	res.Results = make([]OpResult, len(resp.GetResponses()))
	var gets, puts, deletes int
	for _, r := range resp.GetResponses() {
		switch {
		case r.GetResponseRange() != nil:
			gets++
		case r.GetResponsePut() != nil:
			puts++
		case r.GetResponseDeleteRange() != nil:
			deletes++
		}
	}
	getv, putv, delv := make([]RangeResult, gets), make([]PutResult, puts), make([]DeleteResult, deletes)
	for i, r := range resp.GetResponses() {
		var op *etcdserverpb.RequestOp
		if i < len(ops) {
			op = ops[i]
		}
		switch {
		case r.GetResponseRange() != nil:
			getv[0] = c.rangeResult(r.GetResponseRange())
			res.Results[i].Get, getv = &getv[0], getv[1:]
		case r.GetResponsePut() != nil:
			putv[0] = c.putResult(op.GetRequestPut(), r.GetResponsePut())
			res.Results[i].Put, putv = &putv[0], putv[1:]
		case r.GetResponseDeleteRange() != nil:
			delv[0] = c.deleteResult(r.GetResponseDeleteRange())
			res.Results[i].Delete, delv = &delv[0], delv[1:]
		case r.GetResponseTxn() != nil:
			v := c.txnResult(op.GetRequestTxn(), r.GetResponseTxn())
			res.Results[i].Txn = &v
		}
	}
	return res
}
