//etcdkit:needs Watch,Cluster.MemberList,Maintenance.Status

package etcd

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// The compatibility checks run against whichever release ETCDKIT_ETCD_VERSION names
// (scripts/compat.sh runs the package against 3.4, 3.5, 3.6 and 3.7). Each feature that a
// release lacks must be detected from the server's version and either fall back or fail with
// ErrNotSupported, within a bounded time: never a hang.

// compatBound is how long any one compatibility call may take before it counts as a hang.
const compatBound = 10 * time.Second

// serverVersion starts a one-member cluster of the release under test and returns a client,
// the version the server reports ("3.4.23"), and a context that ends after compatBound.
func serverVersion(t *testing.T) (*Client, string, context.Context) {
	t.Helper()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx, cancel := context.WithTimeout(t.Context(), compatBound)
	t.Cleanup(cancel)
	st, err := c.Status(ctx, c.Endpoints()[0])
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if "v"+st.Version != cl.Version {
		t.Fatalf("server reports %s, the harness started %s", st.Version, cl.Version)
	}
	return c, st.Version, ctx
}

// TestCompatProgressRequest: RequestProgress is refused with ErrNotSupported before 3.5.8
// (3.4 never answers a progress request), and answered from 3.5.8 on.
func TestCompatProgressRequest(t *testing.T) {
	t.Parallel()
	c, version, ctx := serverVersion(t)
	rev := mustPut(t, c, "compat/p", "1")
	events := make(chan Event, 1)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range c.Watch(wctx, Prefix("compat/"), ProgressNotify()) {
			if err != nil {
				return
			}
			if ev.Type == EventProgress {
				events <- ev
				return
			}
		}
	}()
	defer func() { stop(); <-done }()

	err := c.RequestProgress(ctx)
	if !versionAtLeast(version, 3, 5, 8) {
		if !errors.Is(err, ErrNotSupported) {
			t.Fatalf("RequestProgress on %s = %v, want ErrNotSupported", version, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("RequestProgress on %s: %v", version, err)
	}
	// The request may have gone out before the watch was created (then nobody gets an answer):
	// ask again until the answer arrives, within the bound.
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case ev := <-events:
			if ev.Revision < rev {
				t.Fatalf("progress at %d, before the put at %d", ev.Revision, rev)
			}
			return
		case <-tick.C:
			if err := c.RequestProgress(ctx); err != nil {
				t.Fatalf("RequestProgress: %v", err)
			}
		case <-ctx.Done():
			t.Fatalf("no progress notification from %s within %v", version, compatBound)
		}
	}
}

// TestCompatMemberList: MemberList asks for a linearizable answer, a field 3.4 does not know
// and skips; every release must still answer, promptly.
func TestCompatMemberList(t *testing.T) {
	t.Parallel()
	c, version, ctx := serverVersion(t)
	members, hdr, err := c.MemberList(ctx)
	if err != nil {
		t.Fatalf("MemberList on %s: %v", version, err)
	}
	if len(members) != 1 || hdr.ClusterID == 0 || len(members[0].ClientURLs) == 0 {
		t.Fatalf("MemberList on %s = %+v, %+v", version, members, hdr)
	}
}

// TestCompatRangeStream: KV.RangeStream exists from 3.7 on. The etcd package never uses it
// (Scan pages with Range on every release), so nothing in the package needs gating; this
// checks the RPC against the server, so that a caller using it directly knows what to expect:
// chunks ending with the count on 3.7+, Unimplemented (ErrNotSupported once mapped by opError)
// at once on older releases. The RPC is found in the stubs' descriptors and called by its
// method path with dynamic messages, so that the test compiles over stubs of releases that
// lack it; over those it is skipped.
func TestCompatRangeStream(t *testing.T) {
	t.Parallel()
	kv := (&etcdserverpb.RangeRequest{}).ProtoReflect().Descriptor().ParentFile().Services().ByName("KV")
	method := kv.Methods().ByName("RangeStream")
	if method == nil {
		t.Skip("these stubs have no KV.RangeStream")
	}
	c, version, ctx := serverVersion(t)
	for i := range 3 {
		mustPut(t, c, "compat/rs/"+string(rune('a'+i)), "v")
	}
	r := Prefix("compat/rs/")
	// The stubs' proto package is private; the server routes on etcd's own service name.
	path := "/etcdserverpb." + string(kv.Name()) + "/" + string(method.Name())
	stream, err := c.Conn().NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, path)
	if err == nil {
		err = stream.SendMsg(&etcdserverpb.RangeRequest{Key: r.Key, RangeEnd: r.End})
	}
	if err == nil {
		err = stream.CloseSend()
	}
	var n int
	var count int64
	for err == nil {
		resp := dynamicpb.NewMessage(method.Output())
		if err = stream.RecvMsg(resp); err == nil {
			chunk := resp.Get(method.Output().Fields().ByName("range_response")).Message()
			fields := chunk.Descriptor().Fields()
			n += chunk.Get(fields.ByName("kvs")).List().Len()
			count = max(count, chunk.Get(fields.ByName("count")).Int())
		}
	}
	supported := versionAtLeast(version, 3, 7, 0)
	switch {
	case supported && errors.Is(err, io.EOF):
		if n != 3 || count != 3 {
			t.Fatalf("RangeStream on %s: %d keys, count %d; want 3", version, n, count)
		}
	case !supported && status.Code(err) == codes.Unimplemented:
		if mapped := opError("range stream", "compat/rs/", err); !errors.Is(mapped, ErrNotSupported) {
			t.Fatalf("Unimplemented maps to %v, want ErrNotSupported", mapped)
		}
	default:
		t.Fatalf("RangeStream on %s: %v after %d keys", version, err, n)
	}
}

// TestCompatStatus: Status reads fields that later releases added (3.6's storage version,
// quota and downgrade state); on older releases they are zero, never an error.
func TestCompatStatus(t *testing.T) {
	t.Parallel()
	c, version, ctx := serverVersion(t)
	// Both the server and the stubs must know the fields.
	stubs := (&etcdserverpb.StatusResponse{}).ProtoReflect().Descriptor().Fields().ByName("storageVersion") != nil
	want := stubs && versionAtLeast(version, 3, 6, 0)
	// 3.6 and later fill the storage version in a few seconds after starting.
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := c.Status(ctx, c.Endpoints()[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := st.DBSizeQuota > 0 && st.Downgrade != nil; got != want {
			t.Fatalf("%s reports quota %d, downgrade %+v", version, st.DBSizeQuota, st.Downgrade)
		}
		if has := st.StorageVersion != ""; has == want {
			return
		}
		if !want || time.Now().After(deadline) {
			t.Fatalf("%s reports storage version %q", version, st.StorageVersion)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
