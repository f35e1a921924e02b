//etcdkit:needs Watch

package etcd

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
)

// scriptedWatch is a watch stream whose answers the test gives: what the hub sends lands in
// sent, and Recv returns what the test puts in answers.
type scriptedWatch struct {
	ctx     context.Context
	sent    chan *etcdserverpb.WatchRequest
	answers chan *etcdserverpb.WatchResponse
}

func (s *scriptedWatch) Send(req *etcdserverpb.WatchRequest) error {
	s.sent <- req
	return nil
}

func (s *scriptedWatch) Recv() (*etcdserverpb.WatchResponse, error) {
	select {
	case resp := <-s.answers:
		return resp, nil
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
}

// TestHubLeavesASickMembersStreamWhole has the hub's stream go silent, so that a liveness
// probe is awaiting its answer, when the stream's member leaves the rotation. The next
// stream's created response must go to the watcher that asked for it, and the watcher's
// events must come through: a probe left pending from the old stream would take the answer,
// cancel the new watch, and leave the watcher waiting for ever.
func TestHubLeavesASickMembersStreamWhole(t *testing.T) {
	h := newScriptedHub(t)
	c, s := h.s.h.c, h.s
	w := h.watcher("k")
	// open has the hub open a stream and create the watcher there, and returns the stream.
	open := func(now time.Time) *scriptedWatch {
		t.Helper()
		st := h.open(now)
		if req := await(t, st.sent, "the watcher's create"); req.GetCreateRequest() == nil {
			t.Fatalf("the new stream's first request is %v; want the watcher's create", req)
		}
		return st
	}
	next := h.next
	created := func(id int64, member uint64) *etcdserverpb.WatchResponse {
		return &etcdserverpb.WatchResponse{Header: &etcdserverpb.ResponseHeader{MemberId: member, Revision: 5}, WatchId: id, Created: true}
	}

	now := time.Now()
	first := open(now)
	first.answers <- created(3, 11)
	next(now)
	if w.id != 3 {
		t.Fatalf("after the first created response the watcher's ID is %d; want 3", w.id)
	}

	// The stream goes silent: the hub probes it.
	now = now.Add(probeAfter)
	s.tend(now)
	if req := await(t, first.sent, "a liveness probe"); req.GetCreateRequest() == nil {
		t.Fatalf("the silent stream got %v; want a liveness probe (a create)", req)
	}
	// Before the probe's answer, the health probe takes member 11 out of the rotation.
	c.health.view.Store(&healthView{anyUsed: true, out: map[uint64]bool{11: true}, replaced: make(chan struct{})})
	s.tend(now)
	if s.pipe.live() {
		t.Fatal("the hub kept its stream to a member out of the rotation")
	}

	second := open(s.pipe.retryAt)
	second.answers <- created(0, 12)
	next(now)
	if w.id != 0 || s.active[0] != w {
		t.Fatalf("after the new stream's created response the watcher's ID is %d; want 0 (its answer went elsewhere)", w.id)
	}
	select {
	case req := <-second.sent:
		t.Fatalf("the hub sent %v on the new stream; want nothing (no cancel of the new watch)", req)
	default:
	}
	second.answers <- &etcdserverpb.WatchResponse{Header: &etcdserverpb.ResponseHeader{MemberId: 12, Revision: 6}, WatchId: 0,
		Events: []*mvccpb.Event{{Kv: &mvccpb.KeyValue{Key: []byte("k"), Value: []byte("v"), ModRevision: 6}}}}
	next(now)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) != 1 || w.queue[0].Revision != 6 {
		t.Fatalf("the watcher queued %v; want the put at revision 6", w.queue)
	}
}

// TestHubCreatesWatchersInTheOrderTheyCame: watchers begun before the stream opened, and
// those re-created on a new stream, are created in the order their callers began them, so a
// watch's created notification tells that every watch begun before it sees the writes after.
func TestHubCreatesWatchersInTheOrderTheyCame(t *testing.T) {
	h := newScriptedHub(t)
	var ws []*watcher
	for i := range 50 {
		ws = append(ws, h.watcher(fmt.Sprintf("k%02d", i)))
	}
	creates := func(st *scriptedWatch, want []*watcher) {
		t.Helper()
		for _, w := range want {
			req := await(t, st.sent, "a create").GetCreateRequest()
			if got := string(req.GetKey()); got != w.name {
				t.Fatalf("the stream got a create for %q; want %q (the order the watches came in)", got, w.name)
			}
		}
	}
	now := time.Now()
	st := h.open(now)
	creates(st, ws)

	// Some leave; the stream fails; the next stream creates the rest in the same order.
	var left []*watcher
	for i, w := range ws {
		if i%3 == 0 {
			h.s.remove(w)
		} else {
			left = append(left, w)
		}
	}
	h.s.leave(errSick, now)
	creates(h.open(h.s.pipe.retryAt), left)
}

// scriptedHub is a watch hub's state over scripted streams, which the test drives as the
// hub's loop would.
type scriptedHub struct {
	t       *testing.T
	s       *hubState
	streams chan *scriptedWatch
}

func newScriptedHub(t *testing.T) *scriptedHub {
	c, err := New(Config{Endpoints: []string{"127.0.0.1:1", "127.0.0.1:2"}}) // never dialled
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := &scriptedHub{t: t, streams: make(chan *scriptedWatch, 2)}
	h.s = &hubState{h: &watchHub{c: c}, all: map[*watcher]struct{}{}, active: map[int64]*watcher{}}
	h.s.pipe = newPipe(c, "watch", func(ctx context.Context) (biStream[*etcdserverpb.WatchRequest, *etcdserverpb.WatchResponse], error) {
		st := &scriptedWatch{ctx: ctx, sent: make(chan *etcdserverpb.WatchRequest, 128), answers: make(chan *etcdserverpb.WatchResponse, 8)}
		h.streams <- st
		return st, nil
	}, nil)
	return h
}

// watcher adds to the hub a watcher of key, as a caller's Watch does.
func (h *scriptedHub) watcher(key string) *watcher {
	w := &watcher{c: h.s.h.c, name: key, key: []byte(key), id: -1, wake: make(chan struct{}, 1)}
	h.s.add(w)
	return w
}

// next applies the pipe's next event of the current stream to the hub, as its loop does.
func (h *scriptedHub) next(now time.Time) {
	h.t.Helper()
	for {
		select {
		case ev := <-h.s.pipe.events:
			if h.s.take(ev, now) != stale { // not the end of a stream the hub left
				return
			}
		case <-time.After(5 * time.Second):
			h.t.Fatal("the stream gave the hub nothing")
		}
	}
}

// open has the hub open a stream and send its creates there, and returns the stream.
func (h *scriptedHub) open(now time.Time) *scriptedWatch {
	h.t.Helper()
	h.s.tend(now)
	st := await(h.t, h.streams, "a stream opened")
	h.next(now)
	h.s.tend(now)
	return st
}

// await returns what ch gives, failing t when it gives nothing for 5 s.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("waited 5s for %s", what)
	}
	var none T
	return none
}
