//etcdkit:needs Lease,Watch

package etcd

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Mutex is a distributed lock held through a Session: while the lock is held, the key
// <name>/<lease-id-hex> exists under the session's lease, and it is the key of <name>/ with
// the lowest create revision. Waiters queue in the order they asked (FIFO), each watching
// only the key just before its own. When the holder dies, its lease expires after the
// session's TTL, the key goes and the next waiter has the lock.
//
// A Mutex is one holder: do not call its methods from several goroutines at once; make a
// Mutex per goroutine (several may share a session, but they then share a key, as
// clientv3's do, so they are the same holder).
type Mutex struct {
	s       *Session
	prefix  string
	key     string
	op      string // names errors: "lock", or "campaign" for an election
	notHeld error  // ErrLockNotHeld, or ErrNotElected for an election

	mu       sync.Mutex
	rev      int64           // our key's create revision while held; 0 when not held
	lost     context.Context // ends with the holding: a lifetime signal
	stopLoss context.CancelFunc
	lossDone chan struct{}
}

// NewMutex returns the lock called name (a key prefix: "locks/job" holds its queue under
// "locks/job/"). It talks to the server only when locked.
func (s *Session) NewMutex(name string) *Mutex {
	return &Mutex{s: s, prefix: name + "/", key: fmt.Sprintf("%s/%x", name, int64(s.Lease())), op: "lock", notHeld: ErrLockNotHeld}
}

// Key returns the lock's key for this session.
func (m *Mutex) Key() string { return m.key }

// FencingToken returns the create revision of the lock's key while the lock is held: it
// grows with every new holder, so a resource that remembers the highest token it has seen
// can refuse a stale holder. Zero when not held.
func (m *Mutex) FencingToken() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev
}

// OwnerCmp returns a comparison that holds while the lock is ours (its key still has our
// create revision): put it in a Txn's If to write only while holding the lock. Made while
// the lock is not held, it never holds. (Methods named Is... return a bool; those returning
// a Cmp end in Cmp.)
func (m *Mutex) OwnerCmp() Cmp {
	rev := m.FencingToken()
	if rev == 0 {
		rev = -1 // no key has it
	}
	return CompareCreateRevision(Key(m.key)).Equal(rev)
}

// Lost returns a channel closed when the current holding ends: the key was deleted, the
// session ended, or Unlock. Before the lock is first held it returns a closed channel.
func (m *Mutex) Lost() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lost == nil {
		return closedCh
	}
	return m.lost.Done()
}

var closedCh = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// Lock waits until the lock is ours, ctx ends (its deadline bounds the wait; our place in
// the queue is then given up) or the session ends. Locking a lock already held by this
// session returns at once.
func (m *Mutex) Lock(ctx context.Context) error {
	return m.lock(ctx, true, "")
}

// TryLock takes the lock if it is free, or fails with ErrLocked at once.
func (m *Mutex) TryLock(ctx context.Context) error {
	return m.lock(ctx, false, "")
}

// lock queues our key, holding value, and waits for its turn when wait is true.
func (m *Mutex) lock(ctx context.Context, wait bool, value string) error {
	c := m.s.c
	if err := m.sessionErr(); err != nil {
		return err
	}
	if rev := m.FencingToken(); rev != 0 {
		if m.notHeld == ErrNotElected {
			return m.setValue(ctx, rev, value) // leading already: campaigning again sets the value
		}
		return nil // already held
	}
	// Our key (unless this session already has one), with the queue's head, in one round trip.
	res, err := c.Txn(ctx, Txn{
		If:   []Cmp{CompareCreateRevision(Key(m.key)).Equal(0)},
		Then: []Op{OpPut(m.key, value, AttachLease(m.s.Lease())), m.headOp()},
		Else: []Op{OpGet(Key(m.key)), m.headOp()},
	})
	if err != nil {
		return m.wrap(err)
	}
	rev := res.Header.Revision
	if !res.Succeeded {
		kvs := res.Results[0].Get.KVs
		if len(kvs) == 0 {
			return m.wrap(m.notHeld)
		}
		rev = kvs[0].CreateRevision
		if string(kvs[0].Value) != value {
			// Already queued (an election's candidate campaigning again): the new value
			// replaces the old, as long as the key is still ours.
			if err := m.setValue(ctx, rev, value); err != nil {
				return err
			}
		}
	}
	head := res.Results[1].Get.KVs
	if len(head) > 0 && head[0].CreateRevision == rev {
		m.held(rev)
		return nil
	}
	if !wait {
		m.abandon(rev)
		return m.wrap(ErrLocked)
	}
	if err := m.waitTurn(ctx, rev); err != nil {
		m.abandon(rev)
		return err
	}
	m.held(rev)
	return nil
}

// setValue replaces our key's value if its create revision is still rev.
func (m *Mutex) setValue(ctx context.Context, rev int64, value string) error {
	res, err := m.s.c.Txn(ctx, Txn{
		If:   []Cmp{CompareCreateRevision(Key(m.key)).Equal(rev)},
		Then: []Op{OpPut(m.key, value, AttachLease(m.s.Lease()))},
	})
	if err != nil {
		return m.wrap(err)
	}
	if !res.Succeeded {
		return m.wrap(m.notHeld)
	}
	return nil
}

// headOp reads the first key of the queue.
func (m *Mutex) headOp() Op {
	return OpGet(Prefix(m.prefix), Sort(SortByCreateRevision, Ascend), Limit(1))
}

// waitTurn waits until no key of the queue is older than ours (rev).
func (m *Mutex) waitTurn(ctx context.Context, rev int64) error {
	c := m.s.c
	for {
		// The key just before ours, and whether ours is still there.
		res, err := c.Txn(ctx, Txn{Then: []Op{
			OpGet(Prefix(m.prefix), Sort(SortByCreateRevision, Descend), Limit(1), CreateRevisionBetween(0, rev-1)),
			OpGet(Key(m.key), KeysOnly()),
		}})
		if err != nil {
			return m.wrap(err)
		}
		if ours := res.Results[1].Get.KVs; len(ours) == 0 || ours[0].CreateRevision != rev {
			return m.wrap(m.notHeld)
		}
		prev := res.Results[0].Get.KVs
		if len(prev) == 0 {
			return nil
		}
		if err := m.waitDeleted(ctx, prev[0], res.Header.Revision); err != nil {
			return err
		}
	}
}

// waitDeleted waits until kv, read at revision read, is deleted, or may have been. The
// watch starts at the store's revision, never earlier, so that the server keeps it synced
// and hands over the deletion at once (a watch from an old revision waits for the server's
// 100 ms catch-up); when writes happened since read, the key is read again in case it went
// in between.
func (m *Mutex) waitDeleted(ctx context.Context, kv KeyValue, read int64) error {
	c := m.s.c
	ctx, cancel := m.s.bound(ctx)
	defer cancel()
	for ev, err := range c.Watch(ctx, Key(string(kv.Key)), NoPut(), CreatedNotify()) {
		if err != nil {
			if serr := m.sessionErr(); serr != nil {
				return serr
			}
			return m.wrap(err)
		}
		if ev.Type != EventCreated {
			return nil // the deletion
		}
		if ev.Revision > read {
			now, err := c.Range(ctx, Key(string(kv.Key)), KeysOnly())
			if err != nil {
				return m.wrap(err)
			}
			if len(now.KVs) == 0 || now.KVs[0].CreateRevision != kv.CreateRevision {
				return nil
			}
		}
	}
	return m.wrap(ErrClosed)
}

// held records the holding and watches, as one of the client's loops, for its loss: the
// deletion of our key or the end of the session.
func (m *Mutex) held(rev int64) {
	ctx, cancel := m.s.bound(m.s.c.life)
	done := make(chan struct{})
	m.mu.Lock()
	m.rev, m.lost, m.stopLoss, m.lossDone = rev, ctx, cancel, done
	m.mu.Unlock()
	watch := func() {
		defer close(done)
		defer cancel()
		for ev, err := range m.s.c.Watch(ctx, Key(m.key), FromRevision(rev+1), NoPut()) {
			if err != nil || ev.Type == EventDelete {
				return
			}
		}
	}
	if !m.s.c.goLoop(watch) {
		cancel()
		close(done)
	}
}

// Unlock releases the lock: it deletes the key only if it is still ours (same create
// revision), so a holder whose lease expired, and whose key may since belong to a new
// holder, deletes nothing and gets ErrLockNotHeld.
func (m *Mutex) Unlock(ctx context.Context) error {
	m.mu.Lock()
	rev, stop, done := m.rev, m.stopLoss, m.lossDone
	m.rev, m.stopLoss, m.lossDone = 0, nil, nil
	m.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	if rev == 0 {
		return m.wrapOp("unlock", m.notHeld)
	}
	res, err := m.s.c.Txn(ctx, Txn{
		If:   []Cmp{CompareCreateRevision(Key(m.key)).Equal(rev)},
		Then: []Op{OpDelete(Key(m.key))},
	})
	if err != nil {
		return m.wrapOp("unlock", err)
	}
	if !res.Succeeded {
		return m.wrapOp("unlock", m.notHeld)
	}
	return nil
}

// abandon gives up our place in the queue, if the key is still ours. It is bounded by the
// client's lifetime, so Close never waits for it.
func (m *Mutex) abandon(rev int64) {
	ctx, cancel := context.WithTimeout(m.s.c.life, min(m.s.TTL(), 5*time.Second))
	defer cancel()
	m.s.c.Txn(ctx, Txn{ //nolint:errcheck // best effort: the lease removes the key at worst
		If:   []Cmp{CompareCreateRevision(Key(m.key)).Equal(rev)},
		Then: []Op{OpDelete(Key(m.key))},
	})
}

func (m *Mutex) sessionErr() error {
	select {
	case <-m.s.Done():
		return m.wrap(m.s.Err())
	default:
		return nil
	}
}

func (m *Mutex) wrap(err error) error { return m.wrapOp(m.op, err) }

func (m *Mutex) wrapOp(op string, err error) error { return renameOp(op, m.key, err) }

// WithLock runs f while holding the lock called name (etcetra's with_lock): it waits its
// turn (FIFO), runs f with a context that ends if the lock is lost, and unlocks. It returns
// f's error, or the error of locking or unlocking.
func (s *Session) WithLock(ctx context.Context, name string, f func(ctx context.Context) error) error {
	m := s.NewMutex(name)
	if err := m.Lock(ctx); err != nil {
		return err
	}
	fctx, cancel := context.WithCancel(ctx)
	m.mu.Lock()
	stop := context.AfterFunc(m.lost, cancel)
	m.mu.Unlock()
	ferr := f(fctx)
	stop()
	cancel()
	uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), min(s.TTL(), 5*time.Second))
	defer ucancel()
	uerr := m.Unlock(uctx)
	if ferr != nil {
		return ferr
	}
	return uerr
}
