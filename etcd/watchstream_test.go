//etcdkit:needs Watch

package etcd

import (
	"context"
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
	c, err := New(Config{Endpoints: []string{"127.0.0.1:1", "127.0.0.1:2"}}) // never dialled
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	streams := make(chan *scriptedWatch, 2)
	s := &hubState{h: &watchHub{c: c}, all: map[*watcher]struct{}{}, active: map[int64]*watcher{}}
	s.pipe = newPipe(c, "watch", func(ctx context.Context) (biStream[*etcdserverpb.WatchRequest, *etcdserverpb.WatchResponse], error) {
		st := &scriptedWatch{ctx: ctx, sent: make(chan *etcdserverpb.WatchRequest, 8), answers: make(chan *etcdserverpb.WatchResponse, 8)}
		streams <- st
		return st, nil
	}, nil)
	w := &watcher{c: c, name: "k", key: []byte("k"), id: -1, wake: make(chan struct{}, 1)}
	s.all[w], s.unsent = struct{}{}, []*watcher{w}

	// next applies the pipe's next event of the current stream to the hub, as its loop does.
	next := func(now time.Time) {
		t.Helper()
		for {
			select {
			case ev := <-s.pipe.events:
				if s.take(ev, now) != stale { // not the end of a stream the hub left
					return
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the stream gave the hub nothing")
			}
		}
	}
	// open has the hub open a stream and create the watcher there, and returns the stream.
	open := func(now time.Time) *scriptedWatch {
		t.Helper()
		s.tend(now)
		st := await(t, streams, "a stream opened")
		next(now)
		s.tend(now)
		if req := await(t, st.sent, "the watcher's create"); req.GetCreateRequest() == nil {
			t.Fatalf("the new stream's first request is %v; want the watcher's create", req)
		}
		return st
	}
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
