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

	"google.golang.org/grpc"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// watchHub owns the client's watch stream and the stream state of every watcher; only its
// run goroutine touches them.
//
// Invariant: a watcher's next is the lowest revision whose events it has not queued for its
// caller, and it only grows. It starts at the caller's start revision; a watcher started at 0
// takes the header revision of its first created response (not +1: the server reads that
// revision after registering the watcher, so an event at it may still be on the way). It
// becomes the last queued event's ModRevision + 1, and max(next, header revision + 1) at a
// progress notification that covers the watcher, which the server sends only when the
// watcher is caught up. Re-created on a new stream, a watcher starts at next; events below
// next are dropped, so none is queued twice whatever a lagging member sends.
type watchHub struct {
	c        *Client
	adds     chan *watcher
	removes  chan *watcher
	resumes  chan *watcher // paused watchers whose caller took their queue
	progress chan struct{}
	recv     chan streamEvent[etcdserverpb.WatchResponse]

	member atomic.Uint64 // the member the stream last heard from, for tests and logs

	verMu    sync.Mutex
	verKnown bool // progressSupported's answer is cached
	verErr   error
}

type watchStream = grpc.BidiStreamingClient[etcdserverpb.WatchRequest, etcdserverpb.WatchResponse]

// watchHub starts the client's hub on first use.
func (c *Client) watchHub() *watchHub {
	c.watchOnce.Do(func() {
		c.watches = &watchHub{
			c:        c,
			adds:     make(chan *watcher),
			removes:  make(chan *watcher),
			resumes:  make(chan *watcher),
			progress: make(chan struct{}),
			recv:     make(chan streamEvent[etcdserverpb.WatchResponse]),
		}
		c.goLoop(c.watches.run)
	})
	return c.watches
}

// hubState is the loop's state for the current stream.
type hubState struct {
	h       *watchHub
	all     []*watcher         // every live watcher, in the order they came
	active  map[int64]*watcher // created on the current stream, by watch ID
	pending []*watcher         // create sent, created response awaited, in send order
	unsent  []*watcher         // not yet created on the current stream

	stream   watchStream
	cancel   context.CancelFunc
	gen      int
	retryAt  time.Time
	bo       *backoff
	progSent int // progress requests sent on the current stream
	progSeen int // the lowest count of them the answers so far can account for
}

func (h *watchHub) run() {
	s := &hubState{h: h, active: map[int64]*watcher{}, bo: newBackoff()}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		if len(s.all) == 0 {
			s.closeStream()
		} else if s.stream == nil && !now.Before(s.retryAt) {
			s.open()
		}
		if s.stream != nil {
			s.sendCreates()
		}
		wake := time.Hour
		if s.stream == nil && len(s.all) > 0 {
			wake = max(time.Until(s.retryAt), 0)
		}
		timer.Reset(wake)

		select {
		case <-h.c.closing:
			s.closeStream()
			for _, w := range s.all {
				w.push(nil, &Error{Op: "watch", Key: w.name, Err: ErrClosed})
			}
			return
		case w := <-h.adds:
			s.all = append(s.all, w)
			s.unsent = append(s.unsent, w)
		case w := <-h.removes:
			s.remove(w)
		case w := <-h.resumes:
			if w.paused && !w.gone {
				w.paused = false
				s.unsent = append(s.unsent, w)
			}
		case <-h.progress:
			if s.stream != nil {
				req := &etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_ProgressRequest{ProgressRequest: &etcdserverpb.WatchProgressRequest{}}}
				if err := s.stream.Send(req); err != nil {
					s.broken(err)
				} else {
					s.progSent++
				}
			}
		case ev := <-h.recv:
			if ev.gen != s.gen {
				continue
			}
			if ev.err != nil {
				s.broken(ev.err)
				continue
			}
			s.bo.reset()
			s.handle(ev.resp)
		case <-timer.C:
		}
	}
}

// open starts a new stream; every live watcher is to be created on it.
func (s *hubState) open() {
	c := s.h.c
	ctx, cancel := context.WithCancel(context.Background())
	st, err := etcdserverpb.NewWatchClient(c.conn).Watch(ctx)
	if err != nil {
		cancel()
		s.broken(err)
		return
	}
	gen := s.gen + 1
	if !c.goLoop(func() { forward(ctx, gen, st.Recv, s.h.recv) }) {
		cancel()
		return
	}
	s.stream, s.cancel, s.gen = st, cancel, gen
	s.progSent, s.progSeen = 0, 0
	s.unsent = slices.DeleteFunc(slices.Clone(s.all), func(w *watcher) bool { return w.paused })
}

func (s *hubState) closeStream() {
	if s.stream == nil {
		return
	}
	s.cancel()
	s.stream, s.cancel = nil, nil
	s.gen++ // what the old stream's goroutine still sends is stale
	clear(s.active)
	s.pending = nil
	for _, w := range s.all {
		w.id, w.frag = -1, nil
	}
	s.unsent = nil
}

// broken drops the stream after err and schedules a new one, unless err is one that a new
// stream would meet again: then every watcher ends with it.
func (s *hubState) broken(err error) {
	s.h.c.log.Debug("etcd: watch stream broken, reopening", "err", err)
	s.closeStream()
	if e := opError("watch", "", err); watchFatal(e) {
		for _, w := range s.all {
			w.push(nil, opError("watch", w.name, err))
		}
		s.all = nil
		return
	}
	s.retryAt = time.Now().Add(s.bo.next())
}

// watchFatal reports errors that re-opening the stream would not cure.
func watchFatal(err error) bool {
	for _, s := range []error{ErrAuthFailed, ErrPermissionDenied, ErrNotSupported, ErrInvalidArgument} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// sendCreates creates on the stream the watchers not yet created there.
func (s *hubState) sendCreates() {
	for len(s.unsent) > 0 {
		w := s.unsent[0]
		if err := s.stream.Send(&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{CreateRequest: w.request()}}); err != nil {
			s.broken(err)
			return
		}
		w.progSeq = s.progSent
		s.unsent = s.unsent[1:]
		s.pending = append(s.pending, w)
	}
}

// remove forgets a watcher its caller stopped, cancelling it on the server.
func (s *hubState) remove(w *watcher) {
	w.gone = true
	s.all = slices.DeleteFunc(s.all, func(x *watcher) bool { return x == w })
	s.unsent = slices.DeleteFunc(s.unsent, func(x *watcher) bool { return x == w })
	if w.id >= 0 && s.active[w.id] == w {
		delete(s.active, w.id)
		s.sendCancel(w.id)
	}
	// A watcher still pending is cancelled when its created response comes.
}

func (s *hubState) sendCancel(id int64) {
	if s.stream == nil || id < 0 {
		return
	}
	req := &etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CancelRequest{CancelRequest: &etcdserverpb.WatchCancelRequest{WatchId: id}}}
	if err := s.stream.Send(req); err != nil {
		s.broken(err)
	}
}

// finish ends a watcher with err.
func (s *hubState) finish(w *watcher, err error) {
	w.push(nil, err)
	s.all = slices.DeleteFunc(s.all, func(x *watcher) bool { return x == w })
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
			if s.h.c.auth != nil && tokenRejectedMessage(reasonMessage(resp.GetCancelReason())) {
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
		select {
		case <-w.created:
		default:
			w.createdRev = rev
			close(w.created)
		}
		if len(resp.GetEvents()) == 0 {
			return
		}
	}
	if resp.GetWatchId() == -1 {
		s.progressAll(rev)
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
		s.progressOne(w, rev)
		return
	}
	evs := make([]Event, 0, len(wire))
	base := w.next
	for _, e := range wire {
		if e.GetKv().GetModRevision() < base {
			continue // already queued before a resume
		}
		evs = append(evs, s.h.c.event(e))
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

// progressOne applies a progress notification for w at rev.
func (s *hubState) progressOne(w *watcher, rev int64) {
	if rev == 0 {
		return
	}
	w.next = max(w.next, rev+1)
	if w.cfg.progress {
		w.push([]Event{{Type: EventProgress, Revision: w.next - 1}}, nil)
	}
}

// progressAll applies the answer to a progress request, which concerns every watcher that
// existed on the server when it handled the request. Unanswered requests (a watcher was
// behind) get no answer, so the answer is taken to be for the earliest request it can be,
// and applied only to the watchers created before that one, whose created response has
// come (the answer can overtake it, but their earlier events cannot).
func (s *hubState) progressAll(rev int64) {
	if s.progSeen < s.progSent {
		s.progSeen++
	}
	for _, w := range s.active {
		if w.progSeq < s.progSeen {
			s.progressOne(w, rev)
		}
	}
}

// refreshToken drops the rejected auth token and re-opens the stream with a new one.
func (s *hubState) refreshToken() {
	s.h.c.auth.forget()
	s.broken(errors.New("etcd: auth token rejected"))
}

// progressSupported reports ErrNotSupported unless every endpoint runs etcd 3.5.8 or newer,
// whose progress answers wait for the watchers to catch up. The answer is cached.
func (h *watchHub) progressSupported(ctx context.Context) error {
	h.verMu.Lock()
	defer h.verMu.Unlock()
	if h.verKnown {
		return h.verErr
	}
	for _, ep := range h.c.endpoints {
		st, err := h.c.Status(ctx, ep)
		if err != nil {
			return err
		}
		if !versionAtLeast(st.Version, 3, 5, 8) {
			h.verErr = &Error{Op: "watch progress", Key: ep, Err: ErrNotSupported}
			break
		}
	}
	h.verKnown = true
	return h.verErr
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
