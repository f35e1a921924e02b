package coexist_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
	upstreampb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

func TestMain(m *testing.M) {
	if os.Getenv("GOLANG_PROTOBUF_REGISTRATION_CONFLICT") != "" {
		// The point of this module is that no conflict is tolerated or ignored.
		os.Stderr.WriteString("coexist: unset GOLANG_PROTOBUF_REGISTRATION_CONFLICT\n")
		os.Exit(2)
	}
	goleak.VerifyTestMain(m)
}

// TestRegistry checks that both copies are registered, under different names.
func TestRegistry(t *testing.T) {
	ours := (&etcdserverpb.RangeRequest{}).ProtoReflect().Descriptor()
	theirs := (&upstreampb.RangeRequest{}).ProtoReflect().Descriptor()
	if ours.FullName() == theirs.FullName() {
		t.Fatalf("both register %s", ours.FullName())
	}
	if ours.ParentFile().Path() == theirs.ParentFile().Path() {
		t.Fatalf("both register file %s", ours.ParentFile().Path())
	}
	for _, name := range []protoreflect.FullName{ours.FullName(), theirs.FullName()} {
		if _, err := protoregistry.GlobalTypes.FindMessageByName(name); err != nil {
			t.Errorf("%s is not registered: %v", name, err)
		}
	}
}

// TestDescriptorsMatchEtcd compares every message of the generated packages with the
// message etcd's own compiled Go package registers under the upstream name. When gen/ was
// generated from the release this module links (its stamp names it), they must be equal;
// from another release (make gen ETCD_VERSION=X), every generated field must still exist
// upstream with the same number and type: releases only ever add fields.
func TestDescriptorsMatchEtcd(t *testing.T) {
	stamp, err := os.ReadFile("../../proto/github.com/etcdkit/etcdkit/gen/etcdserverpb/rpc.proto")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(stamp), "\n")
	same := strings.Contains(first, "go.etcd.io/etcd/api/v3@"+linkedAPIVersion(t)+" ")
	for _, file := range []protoreflect.FileDescriptor{
		etcdserverpb.File_github_com_etcdkit_etcdkit_gen_etcdserverpb_rpc_proto,
		mvccpb.File_github_com_etcdkit_etcdkit_gen_mvccpb_kv_proto,
	} {
		prefix := strings.TrimSuffix(string(file.Package()), "."+string(file.Package().Name())) + "."
		compareMessages(t, prefix, file.Messages(), same)
	}
}

// linkedAPIVersion is the version of go.etcd.io/etcd/api/v3 this module requires.
func linkedAPIVersion(t *testing.T) string {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "go.etcd.io/etcd/api/v3" {
			return f[1]
		}
	}
	t.Fatal("go.mod does not require go.etcd.io/etcd/api/v3")
	return ""
}

// compareMessages checks each message and its nested messages against the registry: the
// same fields when same, a subset otherwise.
func compareMessages(t *testing.T, prefix string, msgs protoreflect.MessageDescriptors, same bool) {
	for i := 0; i < msgs.Len(); i++ {
		m := msgs.Get(i)
		upName := protoreflect.FullName(strings.TrimPrefix(string(m.FullName()), prefix))
		mt, err := protoregistry.GlobalTypes.FindMessageByName(upName)
		if err != nil {
			t.Errorf("%s: no upstream %s: %v", m.FullName(), upName, err)
			continue
		}
		up := mt.Descriptor()
		if same && m.Fields().Len() != up.Fields().Len() {
			t.Errorf("%s: %d fields, etcd has %d", upName, m.Fields().Len(), up.Fields().Len())
		}
		for j := 0; j < m.Fields().Len(); j++ {
			f := m.Fields().Get(j)
			uf := up.Fields().ByNumber(f.Number())
			if uf == nil {
				t.Errorf("%s.%s: number %d missing in etcd", upName, f.Name(), f.Number())
				continue
			}
			if f.Name() != uf.Name() || f.Kind() != uf.Kind() || f.Cardinality() != uf.Cardinality() || f.IsPacked() != uf.IsPacked() {
				t.Errorf("%s field %d: %s %v %v, etcd %s %v %v", upName, f.Number(), f.Name(), f.Kind(), f.Cardinality(), uf.Name(), uf.Kind(), uf.Cardinality())
			}
		}
		compareMessages(t, prefix, m.Messages(), same)
	}
}

// TestReadEachOthersWrites writes with each client and reads with the other one.
func TestReadEachOthersWrites(t *testing.T) {
	cluster := etcdtest.StartCluster(t, etcdtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cli, err := clientv3.New(clientv3.Config{Endpoints: cluster.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	conn, err := grpc.NewClient(cluster.Endpoints()[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	kv := etcdserverpb.NewKVClient(conn)

	// A watch through the generated bidi stream sees clientv3's write.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	watch, err := etcdserverpb.NewWatchClient(conn).Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	create := &etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{
		CreateRequest: &etcdserverpb.WatchCreateRequest{Key: []byte("coexist/from-clientv3")},
	}}
	if err := watch.Send(create); err != nil {
		t.Fatal(err)
	}
	if resp, err := watch.Recv(); err != nil || !resp.Created {
		t.Fatalf("watch create: %v %v", resp, err)
	}

	if _, err := kv.Put(ctx, &etcdserverpb.PutRequest{Key: []byte("coexist/from-kit"), Value: []byte("kit")}); err != nil {
		t.Fatalf("kit put: %v", err)
	}
	got, err := cli.Get(ctx, "coexist/from-kit")
	if err != nil || len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "kit" {
		t.Fatalf("clientv3 get of the kit's write: %v %v", got, err)
	}

	if _, err := cli.Put(ctx, "coexist/from-clientv3", "v3"); err != nil {
		t.Fatalf("clientv3 put: %v", err)
	}
	rng, err := kv.Range(ctx, &etcdserverpb.RangeRequest{Key: []byte("coexist/"), RangeEnd: []byte("coexist0")})
	if err != nil {
		t.Fatalf("kit range: %v", err)
	}
	values := map[string]string{}
	for _, kv := range rng.Kvs {
		values[string(kv.Key)] = string(kv.Value)
	}
	if values["coexist/from-kit"] != "kit" || values["coexist/from-clientv3"] != "v3" || rng.Count != 2 {
		t.Fatalf("kit range: %v (count %d)", values, rng.Count)
	}

	ev, err := watch.Recv()
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	if len(ev.Events) != 1 || ev.Events[0].Type != mvccpb.Event_PUT || string(ev.Events[0].Kv.Value) != "v3" {
		t.Fatalf("watch event: %v", ev)
	}
	if err := watch.CloseSend(); err != nil {
		t.Fatal(err)
	}
}
