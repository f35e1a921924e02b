//etcdkit:needs Watch

package etcd

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"slices"
	"sync"
	"time"
)

// Mirror is an in-memory copy of the keys in a range, kept in step with etcd by ListWatch:
// reads are answered from memory, at a revision the mirror reports, without a round trip.
//
// The copy is always exactly the server's keys as of Revision: it changes by whole listings
// and by events in revision order, never partly. After a compaction outruns its watch it
// lists again; after any other failure (the client cannot reach a quorum, a permission was
// revoked) it keeps the last state, reports the failure through Err, and lists again with
// backoff until it follows the server again.
//
// Memory: every key and value of the range, plus one string per key for the key order; no
// history. A new listing is held beside the old copy while it is applied, and the watch
// queues at most 4,096 events while the mirror applies them. Creating or deleting a key
// shifts the key order (a copy of one string header per key); changing a key does not.
//
// Liveness: a mirror that has seen nothing from the server for mirrorProbeInterval (1 s)
// reads its range's first key, linearizably, within the same bound; when that read fails,
// Err reports it until the mirror hears from the server again. So a mirror cut off from
// every endpoint, or from a quorum, says so within about 3 s. An idle mirror costs one such
// read a second.
//
// Its goroutines live under the client's lifetime: Client.Close stops them and waits for
// them, as Mirror.Close does.
type Mirror struct {
	c      *Client
	r      KeyRange
	cancel context.CancelFunc
	done   chan struct{} // closed when the loop has ended
	synced chan struct{} // closed after the first listing

	mu      sync.RWMutex
	kvs     map[string]KeyValue
	keys    []string // the keys of kvs, in order
	rev     int64
	err     error     // why the watch failed; nil while it runs
	cutOff  error     // why the last liveness probe failed; nil when it succeeded
	heard   time.Time // when the mirror last applied a step
	resyncs int
	changed chan struct{} // closed and replaced when rev advances
}

// NewMirror starts mirroring the keys in r and returns once they have been listed, or with
// the listing's error when ctx ends first. Close stops it; it stops by itself, with Err
// ErrClosed, when the client is closed.
func (c *Client) NewMirror(ctx context.Context, r KeyRange) (*Mirror, error) {
	if err := r.validate(); err != nil {
		return nil, &Error{Op: "mirror", Key: string(r.Key), Err: err}
	}
	if err := c.check("mirror", string(r.Key)); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(c.life)
	m := &Mirror{
		c: c, r: r, cancel: cancel,
		done:    make(chan struct{}),
		synced:  make(chan struct{}),
		kvs:     map[string]KeyValue{},
		changed: make(chan struct{}),
	}
	if !c.goLoop(func() { m.run(lctx) }) {
		cancel()
		return nil, &Error{Op: "mirror", Key: string(r.Key), Err: ErrClosed}
	}
	select {
	case <-m.synced:
		return m, nil
	case <-m.done:
		return nil, m.Err()
	case <-ctx.Done():
	}
	err := m.Err() // why the listing has not succeeded yet, if it failed
	m.Close()
	if err == nil {
		err = &Error{Op: "mirror", Key: string(r.Key), Err: ctx.Err()}
	}
	return nil, err
}

// mirrorProbeInterval is how long a mirror may hear nothing from the server before it checks
// that it can reach it, and the bound on that check.
const mirrorProbeInterval = time.Second

// run follows the range until ctx ends or the client is closed, with probe beside it. It owns
// the mirror's updates; readers take the lock.
func (m *Mirror) run(ctx context.Context) {
	probed := make(chan struct{})
	defer func() { <-probed; close(m.done) }()
	go func() { defer close(probed); m.probe(ctx) }()
	b := newBackoff()
	var timer *time.Timer
	for {
		var failure error
		for u, err := range m.c.ListWatch(ctx, m.r, ProgressNotify()) {
			if err != nil {
				failure = err
				break
			}
			m.apply(u)
			if u.Resync {
				b.reset()
			}
		}
		if ctx.Err() != nil {
			failure = &Error{Op: "mirror", Key: string(m.r.Key), Err: ErrClosed}
		}
		m.mu.Lock()
		m.err = failure
		m.mu.Unlock()
		if errors.Is(failure, ErrClosed) {
			return
		}
		m.c.log.Debug("etcd: mirror lost its watch, listing again", "key", string(m.r.Key), "err", failure)
		if timer == nil {
			timer = time.NewTimer(b.next())
			defer timer.Stop()
		} else {
			timer.Reset(b.next())
		}
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
	}
}

// probe checks, whenever the mirror has heard nothing for mirrorProbeInterval, that the
// server answers a linearizable read of the range's first key within that interval, and
// records the failure (cutOff) until the next success or step.
func (m *Mirror) probe(ctx context.Context) {
	t := time.NewTicker(mirrorProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.mu.RLock()
		quiet := time.Since(m.heard) >= mirrorProbeInterval
		m.mu.RUnlock()
		if !quiet {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, mirrorProbeInterval)
		_, err := m.c.Range(pctx, Key(string(m.r.Key)), CountOnly())
		cancel()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = ErrUnavailable
		}
		if err != nil {
			err = &Error{Op: "mirror", Key: string(m.r.Key), Err: unwrapOp(err)}
		}
		m.mu.Lock()
		m.cutOff = err
		m.mu.Unlock()
	}
}

// unwrapOp returns the cause of an *Error, or err itself.
func unwrapOp(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e.Err
	}
	return err
}

// apply makes one update of ListWatch the mirror's state.
func (m *Mirror) apply(u ListWatchStep) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.heard = time.Now()
	m.cutOff = nil
	switch {
	case u.Resync:
		m.kvs = make(map[string]KeyValue, len(u.KVs))
		m.keys = make([]string, len(u.KVs))
		for i, kv := range u.KVs {
			m.keys[i] = string(kv.Key)
			m.kvs[m.keys[i]] = kv
		}
		m.err = nil
		m.resyncs++
		if m.resyncs == 1 {
			close(m.synced)
		}
	case u.Event.Type == EventPut:
		k := string(u.Event.KV.Key)
		if _, ok := m.kvs[k]; !ok {
			i, _ := slices.BinarySearch(m.keys, k)
			m.keys = slices.Insert(m.keys, i, k)
		}
		m.kvs[k] = u.Event.KV
	case u.Event.Type == EventDelete:
		k := string(u.Event.KV.Key)
		if _, ok := m.kvs[k]; ok {
			delete(m.kvs, k)
			i, _ := slices.BinarySearch(m.keys, k)
			m.keys = slices.Delete(m.keys, i, i+1)
		}
	}
	if u.Revision > m.rev {
		m.rev = u.Revision
		close(m.changed)
		m.changed = make(chan struct{})
	}
}

// Revision returns the revision the mirror is at: it holds exactly the server's keys of its
// range as of that revision.
func (m *Mirror) Revision() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.rev
}

// Get returns key from memory, and whether the mirror holds it.
func (m *Mirror) Get(key string) (KeyValue, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	kv, ok := m.kvs[key]
	return kv, ok
}

// Len returns the number of keys the mirror holds.
func (m *Mirror) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.keys)
}

// Range returns the keys of r the mirror holds, in key order, and the revision they are as
// of. The KeyValues are copies; their byte slices are shared and must not be modified.
func (m *Mirror) Range(r KeyRange) ([]KeyValue, int64) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []KeyValue
	for i := m.first(r); i < len(m.keys); i++ {
		k := m.keys[i]
		if !r.before(k) {
			break
		}
		out = append(out, m.kvs[k])
	}
	return out, m.rev
}

// All yields the keys of r the mirror holds, in key order, as Range returns them.
func (m *Mirror) All(r KeyRange) iter.Seq[KeyValue] {
	return func(yield func(KeyValue) bool) {
		kvs, _ := m.Range(r)
		for _, kv := range kvs {
			if !yield(kv) {
				return
			}
		}
	}
}

// first returns the index of the first key of r in m.keys.
func (m *Mirror) first(r KeyRange) int {
	i, _ := slices.BinarySearch(m.keys, string(r.Key))
	return i
}

// before reports whether k, at or after r.Key, is still inside r.
func (r KeyRange) before(k string) bool {
	switch {
	case len(r.End) == 0:
		return k == string(r.Key)
	case len(r.End) == 1 && r.End[0] == 0:
		return true
	}
	return bytes.Compare([]byte(k), r.End) < 0
}

// WaitForRevision waits until the mirror is at rev or later, so that a caller reads its own
// writes: after a Put at revision rev, WaitForRevision(ctx, rev) then Get sees it. It returns
// ctx's error when ctx ends first, and ErrClosed when the mirror or its client was closed.
//
// A write outside the range does not change the mirror, so the mirror learns that it is
// past rev from a progress notification, which it asks the server for while it waits; on
// servers before etcd 3.5.8, which cannot answer those reliably, it waits for the next change
// of the range instead.
func (m *Mirror) WaitForRevision(ctx context.Context, rev int64) error {
	ask := true
	wait := 20 * time.Millisecond
	var timer *time.Timer
	for {
		m.mu.RLock()
		cur, changed := m.rev, m.changed
		m.mu.RUnlock()
		if cur >= rev {
			return nil
		}
		if ask {
			if err := m.c.RequestProgress(ctx); errors.Is(err, ErrNotSupported) {
				ask = false
			}
		}
		// The answer comes only while every watch of the client is caught up: ask again.
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait) // no stale tick to drain since Go 1.23
		}
		wait = min(2*wait, time.Second)
		select {
		case <-changed:
		case <-timer.C:
		case <-m.done:
			if m.Revision() >= rev {
				return nil
			}
			return &Error{Op: "mirror wait", Key: string(m.r.Key), Err: ErrClosed}
		case <-ctx.Done():
			return &Error{Op: "mirror wait", Key: string(m.r.Key), Err: ctx.Err()}
		}
	}
}

// Err returns why the mirror does not follow the server now (it keeps retrying): its watch
// failed, or it is cut off (ErrUnavailable, or the failure of its liveness read, within about
// 3 s); ErrClosed once it or its client was closed; nil while it follows.
func (m *Mirror) Err() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.err != nil {
		return m.err
	}
	return m.cutOff
}

// Close stops the mirror and returns once its goroutines have ended, at once whatever the
// network does. It is idempotent and returns nil; it returns an error to read like every other
// Close of the package. The copy stays readable, frozen at its last revision.
func (m *Mirror) Close() error {
	m.cancel()
	<-m.done
	return nil
}
