package etcd

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// A pipe owns the one bidi stream of a loop (the watch hub, the lease keeper): it opens the
// stream in a goroutine of its own under the client's lifetime, so that the loop never blocks
// on a dial and Close ends everything at once; it hands the loop the stream's responses,
// tagged with the stream's generation so that a dead stream's leftovers are told apart; it
// re-opens after a failure with backoff; and it declares the stream dead when its member
// stops answering.
//
// Invariant: only the owning loop calls a pipe's methods (or, for a pipe with inline set,
// whoever holds the loop's lock), and never blocks on the network doing so: requests go into
// the stream's outbox, which a goroutine of the stream's sends (a Send can wait for gRPC flow
// control while the loop keeps draining responses, so neither side of the stream stalls the
// other). The stream is live from its opened event until fail or shut; a member is presumed
// frozen when the stream has been silent for probeAfter and a probe then gets no answer
// within probeTimeout, so a frozen member is left within probeAfter+probeTimeout, far sooner
// than gRPC's keepalive (etcd refuses pings more often than every 5 s).
//
// A pipe holds what it uses of its client as values, not a *Client: the generic dictionary
// of its methods marks the pipe's type as used in an interface, and through a *Client field
// that would link every exported method of the client (see part in client.go).
type pipe[Req, Resp any] struct {
	life   context.Context     // the client's lifetime
	goLoop func(func()) bool   // the client's goLoop
	frozen func(member uint64) // the client's frozen
	log    Logger
	name   string // for logs: "watch", "lease keep-alive"
	open   func(context.Context) (biStream[Req, Resp], error)
	// events carries the opening goroutine's news and the stream's responses to the loop. It
	// is buffered (pipeBacklog), so that a burst of responses reaches the loop in one wake-up
	// rather than one goroutine switch each; the generation tags keep stale ones apart. It
	// is nil when inline is set.
	events chan pipeEvent[Req, Resp]
	// inline, when set, is given each event on the stream's goroutine instead of events: a
	// loop that guards its state with a lock applies the event there (see watchHub).
	inline func(pipeEvent[Req, Resp])

	stream  biStream[Req, Resp] // nil until opened, and after fail or shut
	out     *outbox[Req]        // the requests the stream's sender has yet to send
	cancel  context.CancelFunc  // ends the stream being opened or open; nil when none
	gen     int                 // the current stream's generation
	retryAt time.Time           // no new stream before then
	bo      *backoff
	heard   time.Time // the last sign of life on the current stream
	probed  time.Time // when the unanswered probe went out; zero when none is out
	member  uint64    // the member the current stream last heard from
}

// pipeBacklog is how many events a stream's goroutines may hand the loop ahead of it.
const pipeBacklog = 128

// Liveness timing: see pipe.
const (
	probeAfter   = time.Second
	probeTimeout = 1500 * time.Millisecond
)

// errSilent is the cause given when a member stops answering on a stream.
var errSilent = errors.New("etcd: the member stopped answering on the stream")

// biStream is what a pipe uses of a gRPC bidi stream. Req and Resp are the messages'
// pointer types: a generic type instantiated with pointers shares one copy of its code
// between every pipe (the watch hub's and the lease keeper's), where message structs would
// each get their own, under symbol names that spell out the whole struct.
type biStream[Req, Resp any] interface {
	Send(Req) error
	Recv() (Resp, error)
}

// outbox holds the requests the loop gave a stream, for its sending goroutine.
type outbox[Req any] struct {
	mu   sync.Mutex
	reqs []Req
	kick chan struct{} // holds a token while reqs is not empty
}

// put queues req and wakes the sender.
func (o *outbox[Req]) put(req Req) {
	o.mu.Lock()
	o.reqs = append(o.reqs, req)
	o.mu.Unlock()
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// take returns the queued requests, emptying the outbox.
func (o *outbox[Req]) take() []Req {
	o.mu.Lock()
	defer o.mu.Unlock()
	reqs := o.reqs
	o.reqs = nil
	return reqs
}

// pipeEvent is what the stream's goroutine saw: the stream opened, a response, or its end.
type pipeEvent[Req, Resp any] struct {
	gen    int
	opened biStream[Req, Resp]
	resp   Resp
	err    error
}

// newPipe returns a pipe whose streams open, and whose events go to inline or, when
// inline is nil, to the events channel.
func newPipe[Req, Resp any](c *Client, name string, open func(context.Context) (biStream[Req, Resp], error), inline func(pipeEvent[Req, Resp])) *pipe[Req, Resp] {
	p := &pipe[Req, Resp]{
		life: c.life, goLoop: c.goLoop, frozen: c.frozen, log: c.log,
		name: name, open: open, inline: inline, bo: newBackoff(),
	}
	if inline == nil {
		p.events = make(chan pipeEvent[Req, Resp], pipeBacklog)
	}
	return p
}

// live reports whether a stream is open for sending.
func (p *pipe[Req, Resp]) live() bool { return p.stream != nil }

// idle reports whether no stream is open or being opened.
func (p *pipe[Req, Resp]) idle() bool { return p.cancel == nil }

// ensure starts opening a stream unless one is open or opening, or the backoff says wait.
func (p *pipe[Req, Resp]) ensure(now time.Time) {
	if p.cancel != nil || now.Before(p.retryAt) {
		return
	}
	ctx, cancel := context.WithCancel(p.life)
	p.gen++
	gen := p.gen
	out := &outbox[Req]{kick: make(chan struct{}, 1)}
	if !p.goLoop(func() { p.run(ctx, gen, out) }) {
		cancel()
		return
	}
	p.cancel, p.out = cancel, out
}

// run opens the stream of generation gen, starts its sender, and forwards what it receives
// until it fails or ctx ends. It runs on its own goroutine.
func (p *pipe[Req, Resp]) run(ctx context.Context, gen int, out *outbox[Req]) {
	st, err := p.open(ctx)
	if err == nil && !p.goLoop(func() { p.sendAll(ctx, gen, st, out) }) {
		err = errors.New("etcd: client closed")
	}
	if !p.deliver(ctx, pipeEvent[Req, Resp]{gen: gen, opened: st, err: err}) || err != nil {
		return
	}
	for {
		resp, err := st.Recv()
		if !p.deliver(ctx, pipeEvent[Req, Resp]{gen: gen, resp: resp, err: err}) || err != nil {
			return
		}
	}
}

// sendAll sends what the loop puts in out, in order, until a send fails (reported as the
// stream's error) or ctx ends.
func (p *pipe[Req, Resp]) sendAll(ctx context.Context, gen int, st biStream[Req, Resp], out *outbox[Req]) {
	for {
		select {
		case <-out.kick:
		case <-ctx.Done():
			return
		}
		for _, req := range out.take() {
			if err := st.Send(req); err != nil {
				// Send reports io.EOF for a broken stream; Recv returns its real error, which
				// the receiving goroutine delivers. Anything else is reported here.
				if !errors.Is(err, io.EOF) {
					p.deliver(ctx, pipeEvent[Req, Resp]{gen: gen, err: err})
				}
				return
			}
		}
	}
}

// deliver hands ev to the loop (inline, or over events) and reports false when ctx ended
// first: the stream's goroutine then stops.
func (p *pipe[Req, Resp]) deliver(ctx context.Context, ev pipeEvent[Req, Resp]) bool {
	if p.inline != nil {
		if ctx.Err() != nil {
			return false
		}
		p.inline(ev)
		return true
	}
	select {
	case p.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// news is what an event meant to the pipe's loop.
type news int

const (
	stale    news = iota // from a stream of the past: ignore it
	opened               // a new stream is live
	response             // a response to handle
	failed               // the stream failed; a new one will be opened after a backoff
)

// receive applies an event to the pipe and says what it meant; resp is set for a response.
func (p *pipe[Req, Resp]) receive(ev pipeEvent[Req, Resp], now time.Time) (resp Resp, n news) {
	if ev.gen != p.gen || p.cancel == nil {
		return resp, stale
	}
	switch {
	case ev.err != nil:
		p.fail(ev.err, now)
		return resp, failed
	case ev.opened != nil:
		p.stream, p.heard, p.probed = ev.opened, now, time.Time{}
		return resp, opened
	default:
		p.bo.reset()
		p.heard, p.probed = now, time.Time{}
		if h, ok := any(ev.resp).(headered); ok {
			p.member = h.GetHeader().GetMemberId()
		}
		return ev.resp, response
	}
}

// send queues req for the live stream's sender and reports whether there is one; a failed
// send comes back as the stream's error.
func (p *pipe[Req, Resp]) send(req Req) bool {
	if p.stream == nil {
		return false
	}
	p.out.put(req)
	return true
}

// fail drops the stream after err and schedules a new one after a backoff.
func (p *pipe[Req, Resp]) fail(err error, now time.Time) {
	if p.cancel != nil {
		p.log.Debug("etcd: stream broken, reopening", "stream", p.name, "err", err)
	}
	p.shut()
	p.retryAt = now.Add(p.bo.next())
}

// shut ends the stream, open or opening, with no retry scheduled.
func (p *pipe[Req, Resp]) shut() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.stream, p.out, p.cancel, p.member = nil, nil, nil, 0
	p.gen++ // whatever the old stream's goroutine still sends is stale
}

// check probes a stream that has been silent for probeAfter, with the request probe returns
// (false: nothing to probe with), and fails a stream whose probe went unanswered for
// probeTimeout. It returns false when the stream failed.
func (p *pipe[Req, Resp]) check(now time.Time, probe func() (Req, bool)) bool {
	switch {
	case p.stream == nil:
		return true
	case !p.probed.IsZero() && now.Sub(p.probed) >= probeTimeout:
		p.frozen(p.member)
		p.fail(errSilent, now)
		return false
	case p.probed.IsZero() && now.Sub(p.heard) >= probeAfter:
		if req, ok := probe(); ok && p.send(req) {
			p.probed = now
		}
		return p.stream != nil
	}
	return true
}

// wake returns when the loop must next call ensure or check: the end of the backoff when no
// stream is open or opening, the next probe step when one is live, and far away otherwise.
func (p *pipe[Req, Resp]) wake(now time.Time) time.Time {
	switch {
	case p.cancel == nil:
		return p.retryAt
	case p.stream == nil:
		return now.Add(time.Hour) // opening: its event wakes the loop
	case p.probed.IsZero():
		return p.heard.Add(probeAfter)
	default:
		return p.probed.Add(probeTimeout)
	}
}
