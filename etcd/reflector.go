//etcdkit:needs Watch

package etcd

import (
	"context"
	"errors"
	"iter"
	"slices"
)

// ListWatchStep is one step of ListWatch: a full listing (Resync) or one event.
type ListWatchStep struct {
	// Resync marks a full listing: KVs holds every key of the range as of Revision, and the
	// caller replaces its state with it. The first update is always one; another comes after
	// the watch fell behind a compaction, when the events in between are lost.
	Resync bool
	// KVs is the listing, in key order, with Resync.
	KVs []KeyValue
	// Event is the change, without Resync.
	Event Event
	// Revision is the listing's revision, or the event's.
	Revision int64
}

// ListWatch is the list-then-watch pattern of Kubernetes' reflectors: it reads every key of r
// at one revision (in pages, as Scan does) and yields it as a Resync update, then yields
// every change after that revision, as Watch does (opts are Watch's; FromRevision is
// ignored). When the watch falls behind a compaction it lists again and yields a new Resync,
// so that a caller applying updates in order always holds exactly the server's state as of
// the last update's revision. It ends like Watch: at break, at the end of ctx, or at an
// error, yielded last.
func (c *Client) ListWatch(ctx context.Context, r KeyRange, opts ...WatchOption) iter.Seq2[ListWatchStep, error] {
	return func(yield func(ListWatchStep, error) bool) {
		for {
			kvs, rev, err := c.list(ctx, r)
			if err != nil {
				yield(ListWatchStep{}, err)
				return
			}
			if !yield(ListWatchStep{Resync: true, KVs: kvs, Revision: rev}, nil) {
				return
			}
			wopts := append(slices.Clone(opts), FromRevision(rev+1))
			for ev, err := range c.Watch(ctx, r, wopts...) {
				if errors.Is(err, ErrCompacted) {
					c.log.Debug("etcd: list-watch fell behind a compaction, listing again", "key", string(r.Key), "err", err)
					break
				}
				if err != nil {
					yield(ListWatchStep{}, err)
					return
				}
				if !yield(ListWatchStep{Event: ev, Revision: ev.Revision}, nil) {
					return
				}
			}
		}
	}
}

// list reads every key of r at one revision, returned with them.
func (c *Client) list(ctx context.Context, r KeyRange) ([]KeyValue, int64, error) {
	for {
		head, err := c.Range(ctx, r, Limit(1), KeysOnly())
		if err != nil {
			return nil, 0, renameOp("list", string(r.Key), err)
		}
		rev := head.Header.Revision
		var kvs []KeyValue
		for kv, err := range c.Scan(ctx, r, AtRevision(rev)) {
			if err != nil {
				kvs = nil
				if errors.Is(err, ErrCompacted) {
					break // compacted while paging: read at a newer revision
				}
				return nil, 0, renameOp("list", string(r.Key), err)
			}
			kvs = append(kvs, kv)
		}
		if kvs != nil || head.Count == 0 {
			return kvs, rev, nil
		}
	}
}
