//etcdkit:needs Watch

package etcd

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"sync"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
)

// EventType tells a put, a delete and a progress notification apart.
type EventType int

// Event types.
const (
	// EventPut: a key was created or modified; Event.KV is the key as written.
	EventPut EventType = iota + 1
	// EventDelete: a key was deleted (or its lease expired); Event.KV holds the key, and its
	// ModRevision is the revision of the deletion.
	EventDelete
	// EventProgress: no change, only news that the watch has delivered every event up to
	// Event.Revision. Watches see these only with ProgressNotify.
	EventProgress
	// EventCreated: the watch is registered on the server; every change after
	// Event.Revision will be yielded. It comes first, once, and only with CreatedNotify.
	EventCreated
)

// String returns the type's name: PUT, DELETE, PROGRESS or CREATED.
func (t EventType) String() string {
	switch t {
	case EventPut:
		return "PUT"
	case EventDelete:
		return "DELETE"
	case EventProgress:
		return "PROGRESS"
	case EventCreated:
		return "CREATED"
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Event is one change to a watched key, or, with ProgressNotify, a progress notification.
// A watch yields events in revision order; several events may share a revision when one
// transaction changed several keys.
type Event struct {
	// Type tells a put, a delete and the notifications apart.
	Type EventType
	// KV is the changed key; zero for a progress notification.
	KV KeyValue
	// PrevKV is the key before the change, with the PrevKV option, when the key existed (and
	// the server still had that revision).
	PrevKV *KeyValue
	// Revision is the revision of the change (KV.ModRevision), or for a progress notification
	// the revision up to which every event has been delivered.
	Revision int64

	header *Header // the response's, shared by its events; only for WatchResponses
}

// WatchResponse is one response of a watch, as WatchResponses yields it: the events etcd sent
// together, and the header they came with.
type WatchResponse struct {
	// Header says which member sent the response, in which raft term, at which revision.
	Header Header
	// Events are the response's events in revision order (several fragments of one response
	// arrive as one); a created or progress notification is a response with one event of
	// that type.
	Events []Event
}

// IsCreate reports whether a put created its key.
func (e Event) IsCreate() bool { return e.Type == EventPut && e.KV.Version == 1 }

// CompactedError is the cause of a watch that ended because the history it needed was
// compacted: events from its next revision on are gone. It matches ErrCompacted under
// errors.Is; re-read the state (see ListWatch) and watch again from after Revision.
type CompactedError struct {
	// Revision is the compact revision: the oldest revision the server still has.
	Revision int64
}

// Error says which revision the history was compacted at.
func (e *CompactedError) Error() string {
	return fmt.Sprintf("etcd: required revision has been compacted (compacted at %d)", e.Revision)
}

// Is makes errors.Is(err, ErrCompacted) hold.
func (e *CompactedError) Is(target error) bool { return target == ErrCompacted }

// WatchOption shapes a Watch. The set is closed: build options with the functions below.
type WatchOption interface{ applyWatch(*watchConfig) }

type watchConfig struct {
	rev        int64
	prevKV     bool
	created    bool
	noPut      bool
	noDelete   bool
	progress   bool
	header     bool
	queueLimit int // 0: maxQueuedEvents
}

// maxQueuedEvents bounds the events a watch holds for a caller that does not keep up. Past
// it, the watch is cancelled on the server and created again, from the first event not yet
// queued, once the caller has taken the queue: memory stays bounded and no event is lost.
const maxQueuedEvents = 4096

type watchOption func(*watchConfig)

func (f watchOption) applyWatch(c *watchConfig) { f(c) }

// FromRevision starts the watch at rev: it yields every event from rev on, past ones first.
// Zero, the default, starts after the store's revision when the watch is created.
func FromRevision(rev int64) WatchOption {
	return watchOption(func(c *watchConfig) { c.rev = rev })
}

func (PrevKVOption) applyWatch(c *watchConfig) { c.prevKV = true }

// CreatedNotify yields an EventCreated first, once the server has registered the watch, with
// the revision after which every change is yielded: a caller that must not miss its own
// write waits for it before writing.
func CreatedNotify() WatchOption { return watchOption(func(c *watchConfig) { c.created = true }) }

// NoPut leaves out put events.
func NoPut() WatchOption { return watchOption(func(c *watchConfig) { c.noPut = true }) }

// NoDelete leaves out delete events.
func NoDelete() WatchOption { return watchOption(func(c *watchConfig) { c.noDelete = true }) }

// ProgressNotify yields EventProgress events: the server's periodic ones (every 10
// minutes by default, --experimental-watch-progress-notify-interval) while the watch is
// quiet, and the answers to RequestProgress.
func ProgressNotify() WatchOption {
	return watchOption(func(c *watchConfig) { c.progress = true })
}

// Watch yields the changes to the keys in r, in revision order, until the loop breaks, ctx
// ends or the watch fails; nothing of it is left running afterwards. The namespace applies:
// r is inside it and the keys yielded are stripped of it.
//
// Every event after the start revision is yielded exactly once, across broken streams,
// endpoint failover, member restarts and leader changes: the watch resumes where it stopped
// on whichever endpoint is up, and an endpoint whose member has lost its leader is left.
// All of a client's watches share one stream, opened with the first and closed after the last.
//
// An error ends the watch; it is yielded once, last. When the history from the watch's next
// revision was compacted the error wraps a *CompactedError (errors.Is(err, ErrCompacted));
// a watch the user may not read fails with ErrPermissionDenied; the end of ctx yields the
// context's error.
func (c *Client) Watch(ctx context.Context, r KeyRange, opts ...WatchOption) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		c.watchBatches(ctx, r, opts, func(evs []Event, err error) bool {
			for _, ev := range evs {
				if !yield(ev, nil) {
					return false
				}
			}
			if err != nil {
				yield(Event{}, err)
				return false
			}
			return true
		})
	}
}

// WatchResponses is Watch yielding whole responses, with their headers, as etcd sent them:
// for callers that print or check responses rather than events (etcdctl's watch output).
// Everything Watch promises holds for the events; a response is never split or merged with
// another, and the caller may keep its Events.
func (c *Client) WatchResponses(ctx context.Context, r KeyRange, opts ...WatchOption) iter.Seq2[WatchResponse, error] {
	opts = append(opts[:len(opts):len(opts)], watchOption(func(c *watchConfig) { c.header = true }))
	return func(yield func(WatchResponse, error) bool) {
		c.watchBatches(ctx, r, opts, func(evs []Event, err error) bool {
			for len(evs) > 0 {
				n := 1
				for n < len(evs) && evs[n].header == evs[0].header {
					n++
				}
				if !yield(WatchResponse{Header: *evs[0].header, Events: evs[:n:n]}, nil) {
					return false
				}
				evs = evs[n:]
			}
			if err != nil {
				yield(WatchResponse{}, err)
				return false
			}
			return true
		})
	}
}

// watchBatches runs a watch and hands each batch of queued events (whole responses) to fn,
// then its end, until fn returns false or the watch ends.
func (c *Client) watchBatches(ctx context.Context, r KeyRange, opts []WatchOption, fn func([]Event, error) bool) {
	w, err := c.startWatch(ctx, r, opts)
	if err != nil {
		fn(nil, err)
		return
	}
	defer w.stop()
	for {
		evs, err := w.wait(ctx)
		if !fn(evs, err) || err != nil {
			return
		}
	}
}

// RequestProgress asks the server to tell every watch of the client that has
// ProgressNotify how far it has delivered events, as an EventProgress. It returns once
// the request is sent, without waiting for the answer, which the server gives only while
// every watch of the stream is caught up. The answer is trustworthy only from etcd 3.5.8 on
// (older servers answer with a revision whose events may still be on the way): on a cluster
// with an older member it fails with ErrNotSupported and sends nothing.
func (c *Client) RequestProgress(ctx context.Context) error {
	if err := c.check("watch progress", ""); err != nil {
		return err
	}
	h := c.watchHub()
	if err := h.progressSupported(ctx); err != nil {
		return err
	}
	select {
	case h.progress <- struct{}{}:
		return nil
	case <-ctx.Done():
		return opError("watch progress", "", ctx.Err())
	case <-c.closing:
		return &Error{Op: "watch progress", Err: ErrClosed}
	}
}

// watcher is one watch: its request, the state the hub's loop keeps for it, and the queue
// the loop fills and the caller's goroutine drains.
type watcher struct {
	c    *Client
	hub  *watchHub
	name string // the key, for errors
	cfg  watchConfig
	key  []byte // in the namespace
	end  []byte

	// Guarded by the hub's mu (see watchHub).
	next    int64 // the revision to resume at; 0 until anchored by the created response
	id      int64 // the server's watch ID on the current stream; -1 when not created there
	progSeq int   // progress requests sent on the stream before this watcher's create
	frag    []*mvccpb.Event
	gone    bool // stopped by the caller

	announced bool // the first created response came (and EventCreated, if asked, was queued)

	paused bool // cancelled on the server until the caller catches up; owned by the hub

	mu        sync.Mutex
	queue     []Event
	throttled bool  // the queue passed its limit: the caller's next take asks for a resume
	err       error // the watch's end; delivered after the queue
	wake      chan struct{}
}

// startWatch validates the request and registers a watcher with the client's hub.
func (c *Client) startWatch(ctx context.Context, r KeyRange, opts []WatchOption) (*watcher, error) {
	name := string(r.Key)
	if err := c.check("watch", name); err != nil {
		return nil, err
	}
	var cfg watchConfig
	for _, o := range opts {
		o.applyWatch(&cfg)
	}
	if err := r.validate(); err != nil {
		return nil, &Error{Op: "watch", Key: name, Err: err}
	}
	if cfg.rev < 0 {
		return nil, &Error{Op: "watch", Key: name, Err: wrapArg("negative start revision")}
	}
	w := &watcher{
		c: c, name: name, cfg: cfg,
		next: cfg.rev, id: -1,
		wake: make(chan struct{}, 1),
	}
	w.key, w.end = c.ns.keyRange(r)
	h := c.watchHub()
	w.hub = h
	select {
	case h.adds <- w:
		return w, nil
	case <-ctx.Done():
		return nil, opError("watch", name, ctx.Err())
	case <-c.closing:
		return nil, &Error{Op: "watch", Key: name, Err: ErrClosed}
	}
}

// request is the watcher's create request, resuming at next. Fragmented responses are
// always asked for (servers before 3.4 ignore it).
func (w *watcher) request() *etcdserverpb.WatchCreateRequest {
	req := &etcdserverpb.WatchCreateRequest{
		Key: w.key, RangeEnd: w.end, StartRevision: w.next,
		PrevKv: w.cfg.prevKV, ProgressNotify: w.cfg.progress, Fragment: true,
	}
	if w.cfg.noPut {
		req.Filters = append(req.Filters, etcdserverpb.WatchCreateRequest_NOPUT)
	}
	if w.cfg.noDelete {
		req.Filters = append(req.Filters, etcdserverpb.WatchCreateRequest_NODELETE)
	}
	return req
}

// stop removes the watcher from the hub, which cancels it on the server.
func (w *watcher) stop() {
	select {
	case w.hub.removes <- w:
	case <-w.c.closing:
	}
}

// wait returns the queued events, blocking until there are some, the watch ends (the error
// comes once the queue is drained) or ctx ends.
func (w *watcher) wait(ctx context.Context) ([]Event, error) {
	for {
		w.mu.Lock()
		q, err, resume := w.queue, w.err, w.throttled && len(w.queue) > 0
		w.queue = nil
		if resume {
			w.throttled = false
		}
		w.mu.Unlock()
		if resume {
			w.hub.resume(w)
		}
		if len(q) > 0 {
			return q, nil
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return nil, opError("watch", w.name, ctx.Err())
		}
	}
}

// push queues events, or the watch's end, for the caller. Only the hub calls it, under its
// lock. evs becomes the queue when the queue is empty (the caller took the last one), so the
// caller of push must not use evs again.
func (w *watcher) push(evs []Event, err error) (full bool) {
	w.mu.Lock()
	if len(w.queue) == 0 {
		w.queue = evs
	} else {
		w.queue = append(w.queue, evs...)
	}
	if err != nil && w.err == nil {
		w.err = err
	}
	limit := w.cfg.queueLimit
	if limit <= 0 {
		limit = maxQueuedEvents
	}
	if err == nil && len(w.queue) >= limit {
		w.throttled, full = true, true
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return full
}

// header returns the header of resp for w's events, or nil unless w asked for headers.
func (w *watcher) header(resp *etcdserverpb.WatchResponse) *Header {
	if !w.cfg.header {
		return nil
	}
	h := header(resp.GetHeader())
	return &h
}

// event converts a wire event.
func (c *Client) event(ev *mvccpb.Event) Event {
	out := Event{Type: EventPut, KV: c.keyValue(ev.GetKv())}
	if ev.GetType() == mvccpb.Event_DELETE {
		out.Type = EventDelete
	}
	if p := ev.GetPrevKv(); p != nil {
		kv := c.keyValue(p)
		out.PrevKV = &kv
	}
	out.Revision = out.KV.ModRevision
	return out
}

// cancelError turns a server's cancellation of a watch into the watch's error.
func cancelError(name string, resp *etcdserverpb.WatchResponse) error {
	if rev := resp.GetCompactRevision(); rev > 0 {
		return &Error{Op: "watch", Key: name, Err: &CompactedError{Revision: rev}}
	}
	reason := reasonMessage(resp.GetCancelReason())
	if s, ok := serverErrors[reason]; ok {
		return &Error{Op: "watch", Key: name, Err: s}
	}
	if reason == "" {
		reason = "canceled by the server"
	}
	return &Error{Op: "watch", Key: name, Err: fmt.Errorf("%w: %s", ErrServer, strings.TrimPrefix(reason, "etcdserver: "))}
}
