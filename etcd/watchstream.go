//etcdkit:needs Watch

package etcd

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// watchHub owns the client's watch stream and the stream state of every watcher. Its run
// goroutine keeps the stream (opens, probes, leaves it) and takes the callers' requests; the
// stream's receiving goroutine applies each response where it arrives, which saves a
// goroutine switch per response (10,000 watchers: 12.1 against 11.1 µs of CPU per event).
// Both hold mu while they touch that state.
//
// Invariant: a watcher's next is the lowest revision whose events it has not queued for its
// caller, and it only grows. It starts at the caller's start revision; a watcher started at 0
// takes the header revision of its first created response (not +1: the server reads that
// revision after registering the watcher, so an event at it may still be on the way). It
// becomes the last queued event's ModRevision + 1, and max(next, header revision + 1) at a
// progress notification that covers the watcher, which the server sends only when the
// watcher is caught up. Re-created on a new stream, a watcher starts at next; events below
// next are dropped, so none is queued twice whatever a lagging member sends.
//
// The stream's liveness probe (see pipe) is a create request with both event filters for the
// range of one of the watchers, cancelled as soon as it is created: every server version
// answers it at once, and it changes no watcher's state.
type watchHub struct {
	c        *Client
	adds     chan *watcher
	removes  chan *watcher
	resumes  chan *watcher // paused watchers whose caller took their queue
	progress chan struct{}

	// mu guards the hub's state (hubState, the pipe, the watchers' hub-owned fields): the
	// loop holds it while it works, and the stream's receiving goroutine while it applies
	// what it received, so that a response reaches its watcher without a hop through the
	// loop. poke asks the loop for a pass after the receiver's news needs one.
	mu   sync.Mutex
	poke chan struct{}

	member atomic.Uint64 // the member the stream last heard from, for tests and logs

	verMu    sync.Mutex
	versions map[string]bool // endpoint → whether it answers progress requests reliably
}

// watchHub returns the client's hub, started on first use.
func (c *Client) watchHub() *watchHub {
	return (*watchHub)(c.part("watch hub", func() unsafe.Pointer {
		h := &watchHub{
			c:        c,
			adds:     make(chan *watcher),
			removes:  make(chan *watcher),
			resumes:  make(chan *watcher),
			progress: make(chan struct{}),
			poke:     make(chan struct{}, 1),
			versions: make(map[string]bool),
		}
		c.goLoop(h.run)
		return unsafe.Pointer(h)
	}))
}

// hubState is the loop's state for the current stream.
type hubState struct {
	h       *watchHub
	pipe    *pipe[*etcdserverpb.WatchRequest, *etcdserverpb.WatchResponse]
	all     map[*watcher]struct{} // every live watcher (a set: 10,000 leave in linear time)
	order   []*watcher            // all's watchers in the order they came, and some gone since
	active  map[int64]*watcher    // created on the current stream, by watch ID
	pending []*watcher            // create sent, created response awaited, in send order
	unsent  []*watcher            // not yet created on the current stream

	progSent int // progress requests sent on the current stream
	progSeen int // the lowest count of them the answers so far can account for
}

// probeWatcher stands for a liveness probe in the pending queue: its created response is
// answered with a cancel and changes nothing else.
var probeWatcher = &watcher{gone: true, id: -1}

func (h *watchHub) run() {
	s := &hubState{h: h, all: map[*watcher]struct{}{}, active: map[int64]*watcher{}}
	s.pipe = newPipe(h.c, "watch", func(ctx context.Context) (biStream[*etcdserverpb.WatchRequest, *etcdserverpb.WatchResponse], error) {
		return etcdserverpb.NewWatchClient(h.c.conn).Watch(ctx)
	}, s.received)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	timerAt := time.Now().Add(time.Hour) // when timer fires
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		now := time.Now()
		moved := h.c.rotationMoved() // before tend asks leaves, so no change is missed
		s.tend(now)
		// The timer is only ever moved earlier: a wake-up that comes too soon costs one pass of
		// this loop, where resetting it for every response (each moves the probe's time) cost
		// more than the response.
		wakeAt := now.Add(time.Hour)
		if len(s.all) > 0 {
			wakeAt = s.pipe.wake(now)
		}
		if wakeAt.Before(timerAt) {
			timerAt = wakeAt
			timer.Reset(max(wakeAt.Sub(now), 0))
		}

		h.mu.Unlock()
		var woke hubWake
		select {
		case <-h.c.closing:
			woke.closing = true
		case w := <-h.adds:
			woke.add = w
		case w := <-h.removes:
			woke.remove = w
		case w := <-h.resumes:
			woke.resume = w
		case <-h.progress:
			woke.progress = true
		case <-timer.C:
			timerAt = time.Now().Add(time.Hour)
		case <-moved:
		case <-h.poke:
		}
		h.mu.Lock()
		if !s.apply(woke) {
			return
		}
	}
}

// hubWake is what woke the hub's loop, for apply.
type hubWake struct {
	closing             bool
	add, remove, resume *watcher
	progress            bool
}

// apply does what woke the loop asks, and reports false when the client closed.
func (s *hubState) apply(woke hubWake) bool {
	switch {
	case woke.closing:
		s.closeStream() // what the stream's goroutines still hand in is stale from now on
		for w := range s.all {
			w.push(nil, &Error{Op: "watch", Key: w.name, Err: ErrClosed})
		}
		return false
	case woke.add != nil:
		s.add(woke.add)
	case woke.remove != nil:
		s.remove(woke.remove)
	case woke.resume != nil:
		if w := woke.resume; w.paused && !w.gone {
			w.paused = false
			s.unsent = append(s.unsent, w)
		}
	case woke.progress:
		req := &etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_ProgressRequest{ProgressRequest: &etcdserverpb.WatchProgressRequest{}}}
		if s.pipe.send(req) {
			s.progSent++
		}
	}
	return true
}

// received applies what the stream's goroutines saw, on their goroutine, under the hub's
// lock. A response needs nothing more; a stream opened, failed or left needs the loop's
// pass (its creates, its backoff), which it pokes the loop for.
func (s *hubState) received(ev pipeEvent[*etcdserverpb.WatchRequest, *etcdserverpb.WatchResponse]) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if n := s.take(ev, time.Now()); n != stale && (n != response || !s.pipe.live()) {
		select {
		case s.h.poke <- struct{}{}:
		default:
		}
	}
}

// tend keeps the stream fit for the watchers: it leaves a member that left the rotation
// (for one in use), opens a stream when none is open, probes a silent one, and sends the
// creates not sent yet.
func (s *hubState) tend(now time.Time) {
	if len(s.all) == 0 {
		s.closeStream()
		return
	}
	if s.pipe.live() && s.h.c.leaves(s.pipe.member) {
		s.leave(errSick, now)
	}
	s.pipe.ensure(now)
	if s.pipe.check(now, s.probe) {
		s.sendCreates()
	} else {
		s.closeStream()
	}
}

// take applies what the stream's goroutines saw to the hub, and says what it meant.
func (s *hubState) take(ev pipeEvent[*etcdserverpb.WatchRequest, *etcdserverpb.WatchResponse], now time.Time) news {
	resp, n := s.pipe.receive(ev, now)
	switch n {
	case opened:
		s.opened()
	case response:
		s.handle(resp)
	case failed:
		s.broken(ev.err)
	}
	return n
}

// opened starts over on a new stream: every live watcher is to be created on it, in the
// order they came, so a watch created on the server implies that those begun before it are.
func (s *hubState) opened() {
	s.progSent, s.progSeen = 0, 0
	s.compact()
	s.unsent = make([]*watcher, 0, len(s.order))
	for _, w := range s.order {
		if !w.paused {
			s.unsent = append(s.unsent, w)
		}
	}
}

// add takes a new watcher, to be created on the stream after those that came before it.
func (s *hubState) add(w *watcher) {
	s.all[w] = struct{}{}
	s.order = append(s.order, w)
	s.unsent = append(s.unsent, w)
}

// forget drops w from the live watchers; order sheds the gone ones once they are the most.
func (s *hubState) forget(w *watcher) {
	delete(s.all, w)
	if len(s.order) > 2*len(s.all)+64 {
		s.compact()
	}
}

// compact keeps in order only the watchers still live.
func (s *hubState) compact() {
	// A loop, not a generic slices function: its dictionary would mark *watcher as used in
	// an interface, which links every exported method of *Client (see part in client.go).
	live := s.order[:0]
	for _, w := range s.order {
		if _, ok := s.all[w]; ok {
			live = append(live, w)
		}
	}
	clear(s.order[len(live):]) // for the collector
	s.order = live
}

// probe is the liveness probe for the pipe: a create that will match no event.
func (s *hubState) probe() (*etcdserverpb.WatchRequest, bool) {
	var w *watcher
	for w = range s.all {
		break // any watcher's range serves
	}
	if w == nil {
		return nil, false
	}
	s.pending = append(s.pending, probeWatcher)
	return &etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{CreateRequest: &etcdserverpb.WatchCreateRequest{
		Key: w.key, RangeEnd: w.end,
		Filters: []etcdserverpb.WatchCreateRequest_FilterType{etcdserverpb.WatchCreateRequest_NOPUT, etcdserverpb.WatchCreateRequest_NODELETE},
	}}}, true
}

// leave ends the current stream after err, to be opened again after a backoff, and forgets
// its state: the creates awaiting an answer there must not claim the next stream's answers.
func (s *hubState) leave(err error, now time.Time) {
	s.pipe.fail(err, now)
	s.closeStream()
}

// closeStream forgets the current stream's state; the pipe's stream ends with it.
func (s *hubState) closeStream() {
	s.pipe.shut()
	clear(s.active)
	s.pending = nil
	for w := range s.all {
		w.id, w.frag = -1, nil
	}
	s.unsent = nil
}

// broken forgets the stream that failed with err, which the pipe re-opens after a backoff,
// unless err is one that a new stream would meet again: then every watcher ends with it.
func (s *hubState) broken(err error) {
	s.closeStream()
	if kindOf(opError("watch", "", err))&final != 0 {
		for w := range s.all {
			w.push(nil, opError("watch", w.name, err))
		}
		clear(s.all)
		s.order = nil
	}
}

// sendCreates creates on the stream the watchers not yet created there.
func (s *hubState) sendCreates() {
	for len(s.unsent) > 0 && s.pipe.live() {
		w := s.unsent[0]
		if w.gone { // removed while it waited here
			s.unsent = s.unsent[1:]
			continue
		}
		s.pipe.send(&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{CreateRequest: w.request()}})
		w.progSeq = s.progSent
		s.unsent = s.unsent[1:]
		s.pending = append(s.pending, w)
	}
}

// remove forgets a watcher its caller stopped, cancelling it on the server.
func (s *hubState) remove(w *watcher) {
	w.gone = true
	s.forget(w) // and sendCreates skips it in unsent
	if w.id >= 0 && s.active[w.id] == w {
		delete(s.active, w.id)
		s.sendCancel(w.id)
	}
	// A watcher still pending is cancelled when its created response comes.
}

func (s *hubState) sendCancel(id int64) {
	if id < 0 {
		return
	}
	req := &etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CancelRequest{CancelRequest: &etcdserverpb.WatchCancelRequest{WatchId: id}}}
	s.pipe.send(req)
}

// finish ends a watcher with err.
func (s *hubState) finish(w *watcher, err error) {
	w.push(nil, err)
	s.forget(w)
	if w.id >= 0 {
		delete(s.active, w.id)
	}
	w.id = -1
}

func (s *hubState) handle(resp *etcdserverpb.WatchResponse) {
	rev := resp.GetHeader().GetRevision()
	s.h.member.Store(resp.GetHeader().GetMemberId())
	if resp.GetCreated() {
		if len(s.pending) == 0 {
			return // no create is awaiting it: not ours
		}
		w := s.pending[0]
		s.pending = s.pending[1:]
		id := resp.GetWatchId()
		switch {
		case w.gone:
			if !resp.GetCanceled() {
				s.sendCancel(id)
			}
			return
		case resp.GetCanceled():
			if s.h.c.auth != nil && kinds[serverErrors[reasonMessage(resp.GetCancelReason())]]&staleToken != 0 {
				s.refreshToken()
				return
			}
			s.finish(w, cancelError(w.name, resp))
			return
		}
		w.id = id
		s.active[id] = w
		if w.next == 0 {
			w.next = rev
		}
		if !w.announced {
			w.announced = true
			if w.cfg.created {
				w.push([]Event{{Type: EventCreated, Revision: rev, header: w.header(resp)}}, nil)
			}
		}
		if len(resp.GetEvents()) == 0 {
			return
		}
	}
	if resp.GetWatchId() == -1 {
		s.progressAll(resp)
		return
	}
	w := s.active[resp.GetWatchId()]
	if w == nil {
		return // cancelled by us, or from a stream of the past
	}
	if resp.GetCanceled() {
		s.finish(w, cancelError(w.name, resp))
		return
	}
	if resp.GetFragment() {
		w.frag = append(w.frag, resp.GetEvents()...)
		return
	}
	wire := resp.GetEvents()
	if len(w.frag) > 0 {
		wire = append(w.frag, wire...)
		w.frag = nil
	}
	if len(wire) == 0 {
		s.progressOne(w, resp)
		return
	}
	evs := make([]Event, 0, len(wire))
	base := w.next
	hdr := w.header(resp)
	for _, e := range wire {
		if e.GetKv().GetModRevision() < base {
			continue // already queued before a resume
		}
		ev := s.h.c.event(e)
		ev.header = hdr
		evs = append(evs, ev)
		w.next = e.GetKv().GetModRevision() + 1
	}
	if len(evs) > 0 && w.push(evs, nil) {
		s.pause(w)
	}
}

// pause cancels w on the server while its caller works through a full queue; the caller's
// next take of the queue resumes it at w.next, so nothing is lost or queued twice.
func (s *hubState) pause(w *watcher) {
	s.h.c.log.Debug("etcd: watch paused until its caller catches up", "key", w.name, "next", w.next)
	w.paused = true
	delete(s.active, w.id)
	id := w.id
	w.id, w.frag = -1, nil
	s.sendCancel(id)
}

// resume asks the hub to create w again after its caller took its queue.
func (h *watchHub) resume(w *watcher) {
	select {
	case h.resumes <- w:
	case <-h.c.closing:
	}
}

// progressOne applies a progress notification for w: resp, a response with no events.
func (s *hubState) progressOne(w *watcher, resp *etcdserverpb.WatchResponse) {
	rev := resp.GetHeader().GetRevision()
	if rev == 0 {
		return
	}
	w.next = max(w.next, rev+1)
	if w.cfg.progress {
		w.push([]Event{{Type: EventProgress, Revision: w.next - 1, header: w.header(resp)}}, nil)
	}
}

// progressAll applies the answer to a progress request, which concerns every watcher that
// existed on the server when it handled the request. Unanswered requests (a watcher was
// behind) get no answer, so the answer is taken to be for the earliest request it can be,
// and applied only to the watchers created before that one, whose created response has
// come (the answer can overtake it, but their earlier events cannot).
func (s *hubState) progressAll(resp *etcdserverpb.WatchResponse) {
	if s.progSeen < s.progSent {
		s.progSeen++
	}
	for _, w := range s.active {
		if w.progSeq < s.progSeen {
			s.progressOne(w, resp)
		}
	}
}

// refreshToken drops the rejected auth token and re-opens the stream with a new one.
func (s *hubState) refreshToken() {
	s.h.c.auth.forget()
	s.leave(errors.New("etcd: auth token rejected"), time.Now())
}

// progressSupported reports ErrNotSupported when an endpoint runs etcd older than 3.5.8, whose
// progress answers may run ahead of events still on the way. It asks the endpoints whose
// version it does not know yet, in parallel and within ctx (verifyTimeout each), and
// remembers the answers; an endpoint that does not answer is skipped, as long as one does.
func (h *watchHub) progressSupported(ctx context.Context) error {
	h.verMu.Lock()
	var ask []string
	for _, ep := range h.c.endpoints {
		if _, known := h.versions[ep]; !known {
			ask = append(ask, ep)
		}
	}
	h.verMu.Unlock()

	errs := make([]error, len(ask))
	var wg sync.WaitGroup
	for i, ep := range ask {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
			defer cancel()
			_, _, version, err := h.c.memberStatus(ctx, ep)
			errs[i] = err
			if err == nil {
				h.verMu.Lock()
				h.versions[ep] = versionAtLeast(version, 3, 5, 8)
				h.verMu.Unlock()
			}
		}()
	}
	wg.Wait()

	h.verMu.Lock()
	defer h.verMu.Unlock()
	if len(h.versions) == 0 {
		return errors.Join(errs...)
	}
	for _, ep := range h.c.endpoints {
		if ok, known := h.versions[ep]; known && !ok {
			return &Error{Op: "watch progress", Key: ep, Err: ErrNotSupported}
		}
	}
	return nil
}

// versionAtLeast reports whether an etcd version ("3.5.35") is major.minor.patch or newer.
func versionAtLeast(v string, major, minor, patch int) bool {
	var n [3]int
	for i, p := range strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3) {
		p, _, _ = strings.Cut(p, "-")
		n[i], _ = strconv.Atoi(p)
	}
	return slices.Compare(n[:], []int{major, minor, patch}) >= 0
}
