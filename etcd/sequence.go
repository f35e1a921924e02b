package etcd

import (
	"context"
	"fmt"
	"iter"
)

// Append creates a new key under dir holding value, named so that the keys of dir sort in the
// order they were created, even when many clients append at once (python-etcd's
// write(dir, value, append=True)): dir/ followed by a 20-digit number. It returns the created
// key. Like Put, a failed Append is not retried once it may have reached the server.
func (c *Client) Append(ctx context.Context, dir, value string, opts ...PutOption) (KeyValue, error) {
	prefix := dir + "/"
	var seen int64 // a store revision: no key of dir is newer, the last time we looked
	for {
		// The name is the next revision after seen; the write succeeds only if no key of dir
		// was created since seen, so every key already there has a smaller name.
		key := fmt.Sprintf("%s%020d", prefix, seen+1)
		res, err := c.Txn(ctx, Txn{
			If: []Cmp{
				CompareCreateRevision(Prefix(prefix)).Less(seen + 1),
				CompareCreateRevision(Key(key)).Equal(0),
			},
			Then: []Op{OpPut(key, value, opts...)},
		})
		if err != nil {
			return KeyValue{}, renameOp("append", dir, err)
		}
		if res.Succeeded {
			rev := res.Header.Revision
			return KeyValue{Key: []byte(key), Value: []byte(value), CreateRevision: rev, ModRevision: rev, Version: 1}, nil
		}
		seen = res.Header.Revision
	}
}

// Appended yields the keys Append created under dir, oldest first, all read at one revision
// (python-etcd's read(dir, sorted=True)). It pages like Scan and ends like it.
func (c *Client) Appended(ctx context.Context, dir string) iter.Seq2[KeyValue, error] {
	return c.Scan(ctx, Prefix(dir+"/"))
}
