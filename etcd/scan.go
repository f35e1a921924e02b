package etcd

import (
	"context"
	"errors"
	"iter"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// defaultPageSize is Scan's page size when no Limit is given.
const defaultPageSize = 1000

// Scan reads every key in r in key order, a page at a time, all at one revision: the revision
// of the first page unless AtRevision pins another. It reads ranges of any size, beyond what
// one response may carry; a page the client cannot receive is split automatically. Limit sets
// the page size (default 1000); Sort and CountOnly do not apply and yield an error.
//
// Breaking out of the loop ends the scan. An error ends it too: it is yielded once, last.
func (c *Client) Scan(ctx context.Context, r KeyRange, opts ...ReadOption) iter.Seq2[KeyValue, error] {
	return func(yield func(KeyValue, error) bool) {
		req, err := c.scanRequest(r, opts)
		if err != nil {
			yield(KeyValue{}, &Error{Op: "scan", Key: string(r.Key), Err: err})
			return
		}
		for {
			if err := c.check("scan", string(r.Key)); err != nil {
				yield(KeyValue{}, err)
				return
			}
			resp := new(etcdserverpb.RangeResponse)
			err := c.invoke(ctx, etcdserverpb.KV_Range_FullMethodName, req, resp)
			if errors.Is(opError("scan", "", err), ErrResponseTooLarge) && req.Limit > 1 {
				req.Limit /= 2
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
			// Continue just after the last key: the smallest key greater than it.
			last := kvs[len(kvs)-1].GetKey()
			req.Key = append(append(make([]byte, 0, len(last)+1), last...), 0)
		}
	}
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
