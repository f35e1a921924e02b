package etcd

import "context"

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
	k := Key(key)
	return c.cas(ctx, "put if absent", k, CompareCreateRevision(k).Equal(0), OpPut(key, value, opts...))
}

// SwapIfValue replaces key's value with value if it is currently old (prevValue).
func (c *Client) SwapIfValue(ctx context.Context, key, old, value string, opts ...PutOption) (CASResult, error) {
	k := Key(key)
	return c.cas(ctx, "swap if value", k, CompareValue(k).Equal(old), OpPut(key, value, opts...))
}

// SwapIfModRevision replaces key's value with value if its ModRevision is rev (prevIndex).
// Revision 0 means the key must not exist.
func (c *Client) SwapIfModRevision(ctx context.Context, key string, rev int64, value string, opts ...PutOption) (CASResult, error) {
	k := Key(key)
	return c.cas(ctx, "swap if mod revision", k, CompareModRevision(k).Equal(rev), OpPut(key, value, opts...))
}

// DeleteIfValue deletes key if its value is value.
func (c *Client) DeleteIfValue(ctx context.Context, key, value string) (CASResult, error) {
	k := Key(key)
	return c.cas(ctx, "delete if value", k, CompareValue(k).Equal(value), OpDelete(k))
}

// DeleteIfModRevision deletes key if its ModRevision is rev.
func (c *Client) DeleteIfModRevision(ctx context.Context, key string, rev int64) (CASResult, error) {
	k := Key(key)
	return c.cas(ctx, "delete if mod revision", k, CompareModRevision(k).Equal(rev), OpDelete(k))
}

// cas applies then when cond holds, else reads key, in one transaction. It reads the raw
// response: only a lost CAS converts a key-value.
func (c *Client) cas(ctx context.Context, op string, key KeyRange, cond Cmp, then Op) (CASResult, error) {
	resp, err := c.txn(ctx, op, Txn{If: []Cmp{cond}, Then: []Op{then}, Else: []Op{OpGet(key)}})
	if err != nil {
		return CASResult{}, err
	}
	out := CASResult{Succeeded: resp.GetSucceeded(), Header: header(resp.GetHeader())}
	if !out.Succeeded && len(resp.GetResponses()) == 1 {
		if kvs := resp.GetResponses()[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
			kv := c.keyValue(kvs[0])
			out.Current = &kv
		}
	}
	return out, nil
}
