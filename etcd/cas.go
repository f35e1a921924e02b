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
	return c.cas(ctx, "put if absent", key, CompareCreateRevision(Key(key)).Equal(0), OpPut(key, value, opts...))
}

// SwapIfValue replaces key's value with value if it is currently old (prevValue).
func (c *Client) SwapIfValue(ctx context.Context, key, old, value string, opts ...PutOption) (CASResult, error) {
	return c.cas(ctx, "swap if value", key, CompareValue(Key(key)).Equal(old), OpPut(key, value, opts...))
}

// SwapIfModRevision replaces key's value with value if its ModRevision is rev (prevIndex).
// Revision 0 means the key must not exist.
func (c *Client) SwapIfModRevision(ctx context.Context, key string, rev int64, value string, opts ...PutOption) (CASResult, error) {
	return c.cas(ctx, "swap if mod revision", key, CompareModRevision(Key(key)).Equal(rev), OpPut(key, value, opts...))
}

// DeleteIfValue deletes key if its value is value.
func (c *Client) DeleteIfValue(ctx context.Context, key, value string) (CASResult, error) {
	return c.cas(ctx, "delete if value", key, CompareValue(Key(key)).Equal(value), OpDelete(Key(key)))
}

// DeleteIfModRevision deletes key if its ModRevision is rev.
func (c *Client) DeleteIfModRevision(ctx context.Context, key string, rev int64) (CASResult, error) {
	return c.cas(ctx, "delete if mod revision", key, CompareModRevision(Key(key)).Equal(rev), OpDelete(Key(key)))
}

// cas applies then when cond holds, else reads the key, in one transaction.
func (c *Client) cas(ctx context.Context, op, key string, cond Cmp, then Op) (CASResult, error) {
	res, err := c.Txn(ctx, Txn{If: []Cmp{cond}, Then: []Op{then}, Else: []Op{OpGet(Key(key))}})
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Op = op
		}
		return CASResult{}, err
	}
	out := CASResult{Succeeded: res.Succeeded, Header: res.Header}
	if !res.Succeeded && len(res.Results) == 1 && res.Results[0].Get != nil && len(res.Results[0].Get.KVs) > 0 {
		out.Current = &res.Results[0].Get.KVs[0]
	}
	return out, nil
}
