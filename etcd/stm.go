package etcd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// IsolationLevel is how much of the world a transaction run by Update may see change under it.
// Whatever the level, a transaction commits only if no key it read changed since it read it,
// so the outcome is as if it had run alone at its commit; the levels differ in what the
// function sees meanwhile and in whether blind writes are checked.
type IsolationLevel int

// Isolation levels, strongest first.
const (
	// LevelSerializableSnapshot, the default: every read of an attempt is served at the revision
	// of its first read (the function sees one consistent snapshot), and the commit also
	// fails when a key written without being read changed after that revision.
	LevelSerializableSnapshot IsolationLevel = iota
	// LevelSerializable reads at one revision like LevelSerializableSnapshot, but does not guard the
	// keys written without being read.
	LevelSerializable
	// LevelRepeatableRead reads each key, once, at the newest revision of the member that serves
	// it (a serializable read, cheap and possibly stale): two keys may be read at different
	// revisions, so the function may see a state that never existed, but such an attempt
	// never commits.
	LevelRepeatableRead
)

// String returns the level's name: serializable-snapshot, serializable or repeatable-read.
func (i IsolationLevel) String() string {
	switch i {
	case LevelSerializableSnapshot:
		return "serializable-snapshot"
	case LevelSerializable:
		return "serializable"
	case LevelRepeatableRead:
		return "repeatable-read"
	}
	return fmt.Sprintf("IsolationLevel(%d)", int(i))
}

// UpdateOption shapes an Update. The set is closed: build options with the functions below.
type UpdateOption interface{ applyUpdate(*updateConfig) }

type updateConfig struct{ iso IsolationLevel }

type updateOption func(*updateConfig)

func (f updateOption) applyUpdate(c *updateConfig) { f(c) }

// Isolation sets the isolation level of an Update; the default is LevelSerializableSnapshot.
func Isolation(iso IsolationLevel) UpdateOption {
	return updateOption(func(c *updateConfig) { c.iso = iso })
}

// UpdateResult is the outcome of a committed Update.
type UpdateResult struct {
	// Revision is the revision the transaction took effect at: its commit's, or for a
	// transaction that wrote nothing under a snapshot isolation, the snapshot's.
	Revision int64
	// Attempts counts the runs of the function: 1, plus one per conflict.
	Attempts int
}

// Update runs f as a transaction over several keys (clientv3's STM): f reads keys with
// tx.Get and stages writes with tx.Put and tx.Delete; when f returns nil, the writes are
// committed in one Txn only if nothing f read has changed since (and, with
// LevelSerializableSnapshot, nothing it wrote blindly), else f runs again on fresh values, until
// it commits or ctx ends. f must have no effects outside tx, since it may run several times.
//
// An error returned by f aborts the transaction: nothing is written and Update returns that
// error. A commit that fails to reach the server is not retried (a write is sent at most
// once): it may or may not have been applied, and SafeToRetry tells when it certainly was
// not. A retry after a conflict costs no extra round trip: the failed commit reads the keys
// again in its Else branch.
func (c *Client) Update(ctx context.Context, f func(tx *Tx) error, opts ...UpdateOption) (UpdateResult, error) {
	var cfg updateConfig
	for _, o := range opts {
		o.applyUpdate(&cfg)
	}
	if cfg.iso < LevelSerializableSnapshot || cfg.iso > LevelRepeatableRead {
		return UpdateResult{}, &Error{Op: "update", Err: wrapArg(fmt.Sprintf("unknown isolation %d", cfg.iso))}
	}
	tx := &Tx{c: c, ctx: ctx, iso: cfg.iso}
	var timer *time.Timer
	for attempt := 1; ; attempt++ {
		tx.reset()
		err := f(tx)
		if !tx.stale {
			if err != nil {
				return UpdateResult{Attempts: attempt}, err
			}
			rev, ok, err := tx.commit()
			if err != nil {
				return UpdateResult{Attempts: attempt}, err
			}
			if ok {
				return UpdateResult{Revision: rev, Attempts: attempt}, nil
			}
		}
		// A conflict. The first retry runs at once on the values the failed commit read
		// again; later ones wait a little, with jitter, so that contenders fall out of step.
		if attempt == 1 {
			continue
		}
		d := conflictBackoff(attempt - 1)
		if timer == nil {
			timer = time.NewTimer(d)
			defer timer.Stop()
		} else {
			timer.Reset(d)
		}
		select {
		case <-timer.C:
		case <-ctx.Done():
			return UpdateResult{Attempts: attempt}, &Error{Op: "update", Key: tx.firstKey(), Err: ctx.Err()}
		}
	}
}

// conflictBackoff is the wait before the retry after the n-th consecutive conflict (n ≥ 1):
// from 1 ms doubling to 128 ms, ±50% jitter.
func conflictBackoff(n int) time.Duration {
	d := time.Millisecond << min(n-1, 7)
	return d/2 + rand.N(d)
}

// Tx is one attempt of an Update: the keys read, with the revisions they were read at, and
// the writes staged. It is valid only inside the function passed to Update, and not safe for
// concurrent use.
type Tx struct {
	c   *Client
	ctx context.Context
	iso IsolationLevel

	// rev is the snapshot revision of the attempt (0 until the first read), for the
	// snapshot isolations.
	rev int64
	// reads maps each key read to what was read; readOrder keeps the keys in reading order.
	reads     map[string]txRead
	readOrder []string
	// writes maps each key written to its index in writeOps, so that writing a key twice
	// keeps one operation (etcd refuses a Txn that touches a key twice).
	writes   map[string]int
	writeOps []txWrite
	// prefetched holds the keys the last failed commit read again, at prefetchRev.
	prefetched  map[string]txRead
	prefetchRev int64
	// stale is set when a read found the snapshot compacted: the attempt cannot commit.
	stale bool
}

// txRead is a key as a transaction read it; found is false for a missing key.
type txRead struct {
	kv    KeyValue
	found bool
}

// txWrite is a staged write: a put (del false) or a delete.
type txWrite struct {
	key, value string
	del        bool
	opts       []PutOption
}

// reset starts an attempt, keeping what the last failed commit read again.
func (tx *Tx) reset() {
	tx.reads = make(map[string]txRead)
	tx.readOrder = tx.readOrder[:0]
	tx.writes = make(map[string]int)
	tx.writeOps = tx.writeOps[:0]
	tx.rev = tx.prefetchRev
	tx.stale = false
}

// Get reads key through the transaction: a key the transaction wrote reads as written (with
// zero revisions), a key it read reads as it did then, and any other key is read from etcd
// (at the snapshot revision under the snapshot isolations) and added to the keys the commit
// checks. A missing key is ErrKeyNotFound, and is checked too: the commit fails if it appears.
func (tx *Tx) Get(key string) (KeyValue, error) {
	if i, ok := tx.writes[key]; ok {
		w := tx.writeOps[i]
		if w.del {
			return KeyValue{}, &Error{Op: "get", Key: key, Err: ErrKeyNotFound}
		}
		return KeyValue{Key: []byte(key), Value: []byte(w.value)}, nil
	}
	r, ok := tx.reads[key]
	if !ok {
		var err error
		if r, err = tx.fetch(key); err != nil {
			return KeyValue{}, err
		}
		tx.reads[key] = r
		tx.readOrder = append(tx.readOrder, key)
	}
	if !r.found {
		return KeyValue{}, &Error{Op: "get", Key: key, Err: ErrKeyNotFound}
	}
	return r.kv, nil
}

// fetch reads key for the attempt: from the failed commit's reads when it has it, else from
// etcd.
func (tx *Tx) fetch(key string) (txRead, error) {
	if r, ok := tx.prefetched[key]; ok {
		delete(tx.prefetched, key)
		return r, nil
	}
	var opts []ReadOption
	switch {
	case tx.iso == LevelRepeatableRead:
		opts = []ReadOption{Serializable()}
	case tx.rev != 0:
		opts = []ReadOption{AtRevision(tx.rev)}
	}
	res, err := tx.c.Range(tx.ctx, Key(key), opts...)
	if err != nil {
		if errors.Is(err, ErrCompacted) {
			tx.stale = true // the snapshot is gone: the next attempt reads afresh
			tx.prefetched, tx.prefetchRev = nil, 0
		}
		return txRead{}, renameOp("get", key, err)
	}
	if tx.rev == 0 && tx.iso != LevelRepeatableRead {
		tx.rev = res.Header.Revision
	}
	if len(res.KVs) == 0 {
		return txRead{}, nil
	}
	return txRead{kv: res.KVs[0], found: true}, nil
}

// Put stages a write of value under key, applied at commit.
func (tx *Tx) Put(key, value string, opts ...PutOption) {
	tx.stage(txWrite{key: key, value: value, opts: opts})
}

// Delete stages the deletion of key, applied at commit.
func (tx *Tx) Delete(key string) { tx.stage(txWrite{key: key, del: true}) }

func (tx *Tx) stage(w txWrite) {
	if i, ok := tx.writes[w.key]; ok {
		tx.writeOps[i] = w
		return
	}
	tx.writes[w.key] = len(tx.writeOps)
	tx.writeOps = append(tx.writeOps, w)
}

// firstKey names the transaction in errors.
func (tx *Tx) firstKey() string {
	if len(tx.readOrder) > 0 {
		return tx.readOrder[0]
	}
	if len(tx.writeOps) > 0 {
		return tx.writeOps[0].key
	}
	return ""
}

// commit sends the attempt's writes guarded by its reads. It reports the commit revision and
// whether the guards held; when they did not, it keeps the keys read again for the next
// attempt.
func (tx *Tx) commit() (int64, bool, error) {
	if len(tx.writeOps) == 0 && tx.iso != LevelRepeatableRead {
		return tx.rev, true, nil // one snapshot, nothing to write: nothing can conflict
	}
	t := Txn{
		If:   make([]Cmp, 0, len(tx.readOrder)+len(tx.writeOps)),
		Then: make([]Op, 0, len(tx.writeOps)),
		Else: make([]Op, 0, len(tx.readOrder)),
	}
	for _, k := range tx.readOrder {
		t.If = append(t.If, CompareModRevision(Key(k)).Equal(tx.reads[k].kv.ModRevision))
		t.Else = append(t.Else, OpGet(Key(k)))
	}
	for _, w := range tx.writeOps {
		if _, read := tx.reads[w.key]; !read && tx.iso == LevelSerializableSnapshot && tx.rev != 0 {
			t.If = append(t.If, CompareModRevision(Key(w.key)).Less(tx.rev+1))
		}
		if w.del {
			t.Then = append(t.Then, OpDelete(Key(w.key)))
		} else {
			t.Then = append(t.Then, OpPut(w.key, w.value, w.opts...))
		}
	}
	res, err := tx.c.Txn(tx.ctx, t)
	if err != nil {
		return 0, false, renameOp("update", tx.firstKey(), err)
	}
	if res.Succeeded {
		tx.prefetched, tx.prefetchRev = nil, 0
		return res.Header.Revision, true, nil
	}
	tx.prefetched = make(map[string]txRead, len(tx.readOrder))
	for i, k := range tx.readOrder {
		var r txRead
		if i < len(res.Results) && res.Results[i].Get != nil && len(res.Results[i].Get.KVs) > 0 {
			r = txRead{kv: res.Results[i].Get.KVs[0], found: true}
		}
		tx.prefetched[k] = r
	}
	tx.prefetchRev = 0
	if tx.iso != LevelRepeatableRead {
		tx.prefetchRev = res.Header.Revision
	}
	return 0, false, nil
}
