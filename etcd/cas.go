package etcd

import (
	"context"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// CASResult is the answer to a compare-and-swap: whether it won and, when it lost, the key as
// it is now.
type CASResult struct {
	// Succeeded reports whether the condition held and the write was applied.
	Succeeded bool
	// Current is the key when the condition failed; nil when the key does not exist.
	Current *KeyValue
	// Header carries the revision of the write, or of the read when it lost.
	Header Header
}

// PutIfAbsent creates key with value unless it exists (python-etcd's prevExist=False).
func (c *Client) PutIfAbsent(ctx context.Context, key, value string, opts ...PutOption) (CASResult, error) {
	return c.cas(ctx, putIfAbsent, key, "", 0, value, opts)
}

// SwapIfValue replaces key's value with value if it is currently old (prevValue).
func (c *Client) SwapIfValue(ctx context.Context, key, old, value string, opts ...PutOption) (CASResult, error) {
	return c.cas(ctx, swapIfValue, key, old, 0, value, opts)
}

// SwapIfModRevision replaces key's value with value if its ModRevision is rev (prevIndex).
// Revision 0 means the key must not exist.
func (c *Client) SwapIfModRevision(ctx context.Context, key string, rev int64, value string, opts ...PutOption) (CASResult, error) {
	return c.cas(ctx, swapIfModRevision, key, "", rev, value, opts)
}

// DeleteIfValue deletes key if its value is value.
func (c *Client) DeleteIfValue(ctx context.Context, key, value string) (CASResult, error) {
	return c.cas(ctx, deleteIfValue, key, value, 0, "", nil)
}

// DeleteIfModRevision deletes key if its ModRevision is rev.
func (c *Client) DeleteIfModRevision(ctx context.Context, key string, rev int64) (CASResult, error) {
	return c.cas(ctx, deleteIfModRevision, key, "", rev, "", nil)
}

// casKind is what a compare-and-swap compares and writes.
type casKind uint8

const (
	putIfAbsent casKind = iota
	swapIfValue
	swapIfModRevision
	deleteIfValue
	deleteIfModRevision
)

// casOps names each kind in errors.
var casOps = [...]string{"put if absent", "swap if value", "swap if mod revision", "delete if value", "delete if mod revision"}

// cas applies a compare-and-swap of kind to key (comparing with old or rev, writing value),
// else reads key, in one transaction. It reads the raw response: only a lost CAS converts a
// key-value.
//
// The calls above are small enough to be inlined, and cas sends the request itself, from a
// frame that holds no Txn, Op or Cmp values (casRequest builds them): with many calls in
// flight, scanning their stacks is the largest cost a deeper call adds to the garbage
// collector (bench/profile.md).
func (c *Client) cas(ctx context.Context, kind casKind, key, old string, rev int64, value string, opts []PutOption) (CASResult, error) {
	op := casOps[kind]
	if c.isClosed() {
		return CASResult{}, &Error{Op: op, Key: key, Err: ErrClosed}
	}
	room, err := c.casRequest(kind, key, old, rev, value, opts)
	if err != nil {
		return CASResult{}, &Error{Op: op, Key: key, Err: err}
	}
	if err := c.invoke(ctx, etcdserverpb.KV_Txn_FullMethodName, &room.req, &room.reply); err != nil {
		return CASResult{}, opError(op, key, err)
	}
	resp := &room.reply.TxnResponse
	out := CASResult{Succeeded: resp.GetSucceeded(), Header: header(resp.GetHeader())}
	if !out.Succeeded && len(resp.GetResponses()) == 1 {
		if kvs := resp.GetResponses()[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
			kv := c.keyValue(kvs[0])
			out.Current = &kv
		}
	}
	return out, nil
}

// casRequest builds the transaction of a compare-and-swap, in a room that holds its reply
// too.
func (c *Client) casRequest(kind casKind, key, old string, rev int64, value string, opts []PutOption) (*txnRoom, error) {
	k := Key(key)
	var cond Cmp
	switch kind {
	case putIfAbsent:
		cond = CompareCreateRevision(k).Equal(0)
	case swapIfValue, deleteIfValue:
		cond = CompareValue(k).Equal(old)
	default:
		cond = CompareModRevision(k).Equal(rev)
	}
	then := OpDelete(k)
	if kind <= swapIfModRevision {
		then = OpPut(key, value, opts...)
	}
	return c.buildTxn(Txn{If: []Cmp{cond}, Then: []Op{then}, Else: []Op{OpGet(k)}})
}
