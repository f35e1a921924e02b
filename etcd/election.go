//etcdkit:needs Lease,Watch

package etcd

import (
	"context"
	"errors"
	"iter"
	"strings"
)

// Election elects one leader among the sessions campaigning under a name: the candidate whose
// key <name>/<lease-id-hex> is the oldest (lowest create revision) leads, and its key's value
// is the leader's proclamation. Candidates queue in campaign order; a leader whose process
// dies is replaced when its session's lease expires, within its TTL. Like a Mutex, an
// Election is one candidate: do not share it between goroutines.
type Election struct {
	m *Mutex
}

// NewElection returns the election called name for this session's candidate.
func (s *Session) NewElection(name string) *Election {
	m := s.NewMutex(name)
	m.op, m.notHeld = "campaign", ErrNotElected
	return &Election{m: m}
}

// ResumeElection takes up leadership after a restart: leader is the leader's key as read
// earlier (by Leader, or kept from before), and the session must hold the lease it is
// attached to (NewSession with ExistingLease). It fails with ErrNotElected when that
// key is gone, or no longer has that create revision or lease.
func (s *Session) ResumeElection(ctx context.Context, name string, leader KeyValue) (*Election, error) {
	e := s.NewElection(name)
	e.m.key = string(leader.Key)
	if !strings.HasPrefix(e.m.key, e.m.prefix) || leader.Lease != s.Lease() {
		return nil, &Error{Op: "resume election", Key: e.m.key, Err: ErrNotElected}
	}
	kv, err := s.c.Get(ctx, e.m.key)
	if err != nil || kv.CreateRevision != leader.CreateRevision || kv.Lease != s.Lease() {
		if err == nil || errors.Is(err, ErrKeyNotFound) {
			err = ErrNotElected
		}
		return nil, e.m.wrapOp("resume election", err)
	}
	e.m.held(kv.CreateRevision)
	return e, nil
}

// Campaign puts our candidacy, holding value, and waits until we lead, ctx ends (our
// candidacy is then withdrawn) or the session ends. A session that is already a candidate
// keeps its key and its place in the queue, and its key takes the new value.
func (e *Election) Campaign(ctx context.Context, value string) error {
	return e.m.lock(ctx, true, value)
}

// Proclaim replaces the leader's value without an election. It fails with ErrNotElected
// when we do not lead (any more).
func (e *Election) Proclaim(ctx context.Context, value string) error {
	rev := e.m.FencingToken()
	if rev == 0 {
		return e.m.wrapOp("proclaim", ErrNotElected)
	}
	if err := e.m.setValue(ctx, rev, value); err != nil {
		return e.m.wrapOp("proclaim", err)
	}
	return nil
}

// Resign gives up leadership, deleting our key only if it is still ours; the next candidate
// leads. It fails with ErrNotElected when we did not lead.
func (e *Election) Resign(ctx context.Context) error {
	err := e.m.Unlock(ctx)
	if err != nil {
		return e.m.wrapOp("resign", err)
	}
	return nil
}

// Key returns our candidacy's key.
func (e *Election) Key() string { return e.m.key }

// FencingToken returns the create revision of our key while we lead, 0 otherwise: it grows
// with every new leader, as a Mutex's does.
func (e *Election) FencingToken() int64 { return e.m.FencingToken() }

// LeaderCmp returns a comparison that holds while we still lead, for a Txn's If.
func (e *Election) LeaderCmp() Cmp { return e.m.OwnerCmp() }

// Lost returns a channel closed when our leadership ends: our key was deleted, the session
// ended, or Resign. Before Campaign first wins it returns a closed channel (we do not lead),
// so call it after Campaign returns, once per term.
func (e *Election) Lost() <-chan struct{} { return e.m.Lost() }

// Leader returns the current leader's key and value, or ErrKeyNotFound when nobody leads.
func (e *Election) Leader(ctx context.Context) (KeyValue, error) {
	kv, _, err := leader(ctx, e.m.s.c, e.m.prefix, 0)
	return kv, err
}

// leader reads the leader of the election under prefix at rev (0: now), and the revision
// read.
func leader(ctx context.Context, c *Client, prefix string, rev int64) (KeyValue, int64, error) {
	res, err := c.Range(ctx, Prefix(prefix), Sort(SortByCreateRevision, Ascend), Limit(1), AtRevision(rev))
	if err != nil {
		return KeyValue{}, 0, renameOp("election leader", prefix, err)
	}
	if len(res.KVs) == 0 {
		return KeyValue{}, res.Header.Revision, &Error{Op: "election leader", Key: prefix, Err: ErrKeyNotFound}
	}
	return res.KVs[0], res.Header.Revision, nil
}

// Observe yields the leader now, if there is one, then every change of leader or of the
// leader's value, in order, until the loop breaks, ctx ends or an error (yielded last).
func (e *Election) Observe(ctx context.Context) iter.Seq2[KeyValue, error] {
	return e.m.s.c.ObserveElection(ctx, strings.TrimSuffix(e.m.prefix, "/"))
}

// ObserveElection is Election.Observe for a client that does not campaign.
func (c *Client) ObserveElection(ctx context.Context, name string) iter.Seq2[KeyValue, error] {
	prefix := name + "/"
	return func(yield func(KeyValue, error) bool) {
		cur, rev, err := leader(ctx, c, prefix, 0)
		has := err == nil
		if err != nil && !errors.Is(err, ErrKeyNotFound) {
			yield(KeyValue{}, err)
			return
		}
		if has && !yield(cur, nil) {
			return
		}
		for ev, err := range c.Watch(ctx, Prefix(prefix), FromRevision(rev+1)) {
			if err != nil {
				yield(KeyValue{}, err)
				return
			}
			key := string(ev.KV.Key)
			switch {
			case has && key == string(cur.Key) && ev.Type == EventPut:
				cur = ev.KV // a proclamation
			case has && key == string(cur.Key) || !has && ev.Type == EventPut:
				// The leader went, or a first candidate came: find who leads as of this event.
				next, _, err := leader(ctx, c, prefix, ev.Revision)
				if errors.Is(err, ErrKeyNotFound) {
					has = false
					continue
				}
				if err != nil {
					yield(KeyValue{}, err)
					return
				}
				cur, has = next, true
			default:
				continue
			}
			if !yield(cur, nil) {
				return
			}
		}
	}
}
