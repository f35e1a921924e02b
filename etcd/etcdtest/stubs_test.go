package etcdtest

import (
	"context"
	"crypto/tls"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
)

// These tests drive the generated stubs in gen/ directly against real servers: the smallest
// proof that the trimmed protos still speak etcd's wire protocol.

// dial opens a gRPC connection to the cluster's first endpoint, closed when the test ends.
func dial(t *testing.T, c *Cluster) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(c.Endpoints()[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestStubs(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, Options{})
	conn := dial(t, c)
	ctx := timeout(t, 30*time.Second)
	kv := etcdserverpb.NewKVClient(conn)

	for _, k := range []string{"smoke/a", "smoke/b", "smoke0", "smoke"} {
		if _, err := kv.Put(ctx, &etcdserverpb.PutRequest{Key: []byte(k), Value: []byte("v-" + k)}); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	// The prefix "smoke/" ends at "smoke0": '/' + 1.
	rr, err := kv.Range(ctx, &etcdserverpb.RangeRequest{Key: []byte("smoke/"), RangeEnd: []byte("smoke0")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range rr.Kvs {
		keys = append(keys, string(kv.Key))
	}
	if rr.Count != 2 || !slices.Equal(keys, []string{"smoke/a", "smoke/b"}) || string(rr.Kvs[0].Value) != "v-smoke/a" {
		t.Fatalf("prefix range: count %d, keys %q", rr.Count, keys)
	}
	if rr.Header.Revision < 5 || rr.Kvs[1].CreateRevision != 3 || rr.Kvs[1].Version != 1 {
		t.Fatalf("prefix range: header %v, kvs %v", rr.Header, rr.Kvs)
	}

	dr, err := kv.DeleteRange(ctx, &etcdserverpb.DeleteRangeRequest{Key: []byte("smoke/a"), PrevKv: true})
	if err != nil {
		t.Fatal(err)
	}
	if dr.Deleted != 1 || len(dr.PrevKvs) != 1 || string(dr.PrevKvs[0].Value) != "v-smoke/a" {
		t.Fatalf("DeleteRange: %v", dr)
	}

	txn := &etcdserverpb.TxnRequest{
		Compare: []*etcdserverpb.Compare{{
			Key:         []byte("smoke/b"),
			Target:      etcdserverpb.Compare_VALUE,
			Result:      etcdserverpb.Compare_EQUAL,
			TargetUnion: &etcdserverpb.Compare_Value{Value: []byte("v-smoke/b")},
		}},
		Success: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestPut{
			RequestPut: &etcdserverpb.PutRequest{Key: []byte("smoke/c"), Value: []byte("txn")},
		}}},
		Failure: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestRange{
			RequestRange: &etcdserverpb.RangeRequest{Key: []byte("smoke/b")},
		}}},
	}
	tr, err := kv.Txn(ctx, txn)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Succeeded || len(tr.Responses) != 1 || tr.Responses[0].GetResponsePut() == nil {
		t.Fatalf("Txn: %v", tr)
	}
	// The same comparison fails once smoke/b changes, and the failure branch runs.
	if _, err := kv.Put(ctx, &etcdserverpb.PutRequest{Key: []byte("smoke/b"), Value: []byte("changed")}); err != nil {
		t.Fatal(err)
	}
	tr, err = kv.Txn(ctx, txn)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Succeeded || len(tr.Responses) != 1 || len(tr.Responses[0].GetResponseRange().GetKvs()) != 1 {
		t.Fatalf("failing Txn: %v", tr)
	}

	lease, err := etcdserverpb.NewLeaseClient(conn).LeaseGrant(ctx, &etcdserverpb.LeaseGrantRequest{TTL: 30})
	if err != nil {
		t.Fatal(err)
	}
	if lease.ID == 0 || lease.TTL != 30 {
		t.Fatalf("LeaseGrant: %v", lease)
	}
	if _, err := kv.Put(ctx, &etcdserverpb.PutRequest{Key: []byte("smoke/leased"), Lease: lease.ID}); err != nil {
		t.Fatal(err)
	}

	watchOnce(ctx, t, conn, kv)

	ml, err := etcdserverpb.NewClusterClient(conn).MemberList(ctx, &etcdserverpb.MemberListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ml.Members) != 1 || ml.Members[0].Name != "m0" || !slices.Equal(ml.Members[0].ClientURLs, c.ClientURLs()) {
		t.Fatalf("MemberList: %v", ml.Members)
	}

	st, err := etcdserverpb.NewMaintenanceClient(conn).Status(ctx, &etcdserverpb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != strings.TrimPrefix(c.Version, "v") || st.Leader != st.Header.MemberId || st.Leader != ml.Members[0].ID {
		t.Fatalf("Status: %v", st)
	}
}

// watchOnce watches "smoke/w", writes it and expects the one PUT event.
func watchOnce(ctx context.Context, t *testing.T, conn *grpc.ClientConn, kv etcdserverpb.KVClient) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := etcdserverpb.NewWatchClient(conn).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = stream.Send(&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{
		CreateRequest: &etcdserverpb.WatchCreateRequest{Key: []byte("smoke/w")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	created, err := stream.Recv()
	if err != nil || !created.Created {
		t.Fatalf("watch created: %v, %v", created, err)
	}
	pr, err := kv.Put(ctx, &etcdserverpb.PutRequest{Key: []byte("smoke/w"), Value: []byte("seen")})
	if err != nil {
		t.Fatal(err)
	}
	for {
		wr, err := stream.Recv()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		if len(wr.Events) == 0 {
			continue // progress notifications carry none
		}
		ev := wr.Events[0]
		if wr.WatchId != created.WatchId || ev.Type != mvccpb.Event_PUT || string(ev.Kv.Key) != "smoke/w" ||
			string(ev.Kv.Value) != "seen" || ev.Kv.ModRevision != pr.Header.Revision {
			t.Fatalf("watch event: %v", wr)
		}
		break
	}
	if err := stream.CloseSend(); err != nil && err != io.EOF {
		t.Fatal(err)
	}
}

// TestStubsOlderServers runs Put and Range with the same stubs against older releases: the
// default stubs are generated from the newest release and must still work there.
func TestStubsOlderServers(t *testing.T) {
	t.Parallel()
	for _, version := range []string{OldVersion(), DebianVersion()} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			c := StartCluster(t, Options{Version: version})
			kv := etcdserverpb.NewKVClient(dial(t, c))
			ctx := timeout(t, 30*time.Second)
			if _, err := kv.Put(ctx, &etcdserverpb.PutRequest{Key: []byte("old"), Value: []byte(version)}); err != nil {
				t.Fatal(err)
			}
			rr, err := kv.Range(ctx, &etcdserverpb.RangeRequest{Key: []byte("old")})
			if err != nil {
				t.Fatal(err)
			}
			if len(rr.Kvs) != 1 || string(rr.Kvs[0].Value) != version || rr.Header.MemberId == 0 {
				t.Fatalf("Range on %s: %v", version, rr)
			}
		})
	}
}

// TestStubsTLSThroughProxy checks that the generated certificates serve a gRPC client, through
// the proxy, and that a member requiring client certificates turns away a client without one.
func TestStubsTLSThroughProxy(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, Options{ClientCertAuth: true, Proxy: true})
	ctx := timeout(t, 30*time.Second)
	put := func(cfg *tls.Config) error {
		conn, err := grpc.NewClient(c.Endpoints()[0], grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = etcdserverpb.NewKVClient(conn).Put(ctx, &etcdserverpb.PutRequest{Key: []byte("tls"), Value: []byte("ok")})
		return err
	}
	if err := put(c.ClientTLS()); err != nil {
		t.Fatalf("with the client certificate: %v", err)
	}
	noCert := c.ClientTLS()
	noCert.Certificates = nil
	if err := put(noCert); status.Code(err) != codes.Unavailable {
		t.Fatalf("without a client certificate: %v, want Unavailable", err)
	}
}
