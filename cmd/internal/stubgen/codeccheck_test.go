package stubgen

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/etcdkit/etcdkit/gen/authpb"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
)

// kitCodec is the generated codec of the root module's stubs (gen/*_codec.pb.go).
type kitCodec interface {
	proto.Message
	MarshalKit() ([]byte, error)
	UnmarshalKit(b []byte) error
}

// TestCodecMatchesUpstream carries the wire check to the generated codec: for sample
// messages of the root module's stubs that reach every construct the codec writes, etcd
// v3.7.3's own descriptors decode MarshalKit's bytes into the same fields with the same
// values and no unknown field, and UnmarshalKit reads back what those descriptors write.
func TestCodecMatchesUpstream(t *testing.T) {
	files, err := loadRelease(context.Background(), "v3.7.3", false, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	set, err := linkUpstream(files)
	if err != nil {
		t.Fatal(err)
	}
	upstream := map[protoreflect.FullName]protoreflect.Descriptor{}
	for _, fd := range set.descs {
		indexDescriptors(fd.Messages(), fd.Enums(), upstream)
	}
	naming, err := NewNaming("github.com/etcdkit/etcdkit/gen")
	if err != nil {
		t.Fatal(err)
	}
	kv := &mvccpb.KeyValue{Key: []byte("k"), CreateRevision: 2, ModRevision: 3, Version: 1, Value: []byte("v"), Lease: 7}
	header := &etcdserverpb.ResponseHeader{ClusterId: 1 << 63, MemberId: 2, Revision: 3, RaftTerm: 4}
	put := &etcdserverpb.RequestOp{Request: &etcdserverpb.RequestOp_RequestPut{RequestPut: &etcdserverpb.PutRequest{Key: []byte("k"), Value: []byte("v"), Lease: 7, PrevKv: true, IgnoreLease: true}}}
	samples := []proto.Message{
		&etcdserverpb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("b"), Limit: 5, Revision: 9, SortOrder: etcdserverpb.RangeRequest_DESCEND,
			SortTarget: etcdserverpb.RangeRequest_MOD, Serializable: true, KeysOnly: true, CountOnly: true, MinModRevision: 1, MaxModRevision: 2, MinCreateRevision: 3, MaxCreateRevision: 4},
		&etcdserverpb.RangeResponse{Header: header, Kvs: []*mvccpb.KeyValue{kv, {Key: []byte("k2")}}, More: true, Count: 2},
		&etcdserverpb.TxnRequest{
			Compare: []*etcdserverpb.Compare{
				{Result: etcdserverpb.Compare_GREATER, Target: etcdserverpb.Compare_MOD, Key: []byte("k"), TargetUnion: &etcdserverpb.Compare_ModRevision{ModRevision: 0}, RangeEnd: []byte("z")},
				{Target: etcdserverpb.Compare_VALUE, TargetUnion: &etcdserverpb.Compare_Value{Value: []byte("v")}},
				{Target: etcdserverpb.Compare_LEASE, TargetUnion: &etcdserverpb.Compare_Lease{Lease: 7}},
			},
			Success: []*etcdserverpb.RequestOp{put, {Request: &etcdserverpb.RequestOp_RequestTxn{RequestTxn: &etcdserverpb.TxnRequest{Failure: []*etcdserverpb.RequestOp{put}}}}},
			Failure: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestDeleteRange{RequestDeleteRange: &etcdserverpb.DeleteRangeRequest{Key: []byte("d"), PrevKv: true}}}},
		},
		&etcdserverpb.TxnResponse{Header: header, Succeeded: true, Responses: []*etcdserverpb.ResponseOp{
			{Response: &etcdserverpb.ResponseOp_ResponseRange{ResponseRange: &etcdserverpb.RangeResponse{Kvs: []*mvccpb.KeyValue{kv}}}},
			{Response: &etcdserverpb.ResponseOp_ResponsePut{ResponsePut: &etcdserverpb.PutResponse{PrevKv: kv}}},
		}},
		&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{CreateRequest: &etcdserverpb.WatchCreateRequest{
			Key: []byte("w"), StartRevision: 4, ProgressNotify: true, Filters: []etcdserverpb.WatchCreateRequest_FilterType{etcdserverpb.WatchCreateRequest_NODELETE, etcdserverpb.WatchCreateRequest_NOPUT},
			PrevKv: true, WatchId: -1, Fragment: true,
		}}},
		&etcdserverpb.WatchResponse{Header: header, WatchId: 1, Created: true, CompactRevision: 2, CancelReason: "r", Fragment: true,
			Events: []*mvccpb.Event{{Type: mvccpb.Event_DELETE, Kv: kv, PrevKv: kv}}},
		&etcdserverpb.LeaseTimeToLiveResponse{Header: header, ID: 1, TTL: -1, GrantedTTL: 60, Keys: [][]byte{[]byte("a"), {}}},
		&etcdserverpb.MemberAddRequest{PeerURLs: []string{"http://a:2380", ""}, IsLearner: true},
		&etcdserverpb.StatusResponse{Header: header, Version: "3.7.3", Errors: []string{"e1", "e2"}, DbSizeInUse: 5, IsLearner: true, StorageVersion: "3.7"},
		&etcdserverpb.AlarmRequest{Action: etcdserverpb.AlarmRequest_ACTIVATE, MemberID: 9, Alarm: etcdserverpb.AlarmType_NOSPACE},
		&etcdserverpb.AuthRoleGrantPermissionRequest{Name: "r", Perm: &authpb.Permission{PermType: authpb.Permission_READWRITE, Key: []byte("k"), RangeEnd: []byte{0}}},
	}
	for _, m := range samples {
		name := m.ProtoReflect().Descriptor().FullName()
		up, ok := naming.Upstream(string(name))
		if !ok {
			t.Fatalf("%s is outside the private prefix", name)
		}
		ud, ok := upstream[protoreflect.FullName(up)].(protoreflect.MessageDescriptor)
		if !ok {
			t.Fatalf("%s has no upstream message", up)
		}
		kit, ok := m.(kitCodec)
		if !ok {
			t.Fatalf("%s has no generated codec: regenerate gen/", name)
		}
		kb, err := kit.MarshalKit()
		if err != nil {
			t.Fatal(err)
		}
		dyn := dynamicpb.NewMessage(ud)
		if err := proto.Unmarshal(kb, dyn); err != nil {
			t.Fatalf("%s: upstream cannot decode MarshalKit's bytes: %v", up, err)
		}
		if err := sameFields(m.ProtoReflect(), dyn); err != nil {
			t.Fatalf("%s: MarshalKit's bytes decoded with upstream's descriptor: %v", up, err)
		}
		ub, err := proto.Marshal(dyn)
		if err != nil {
			t.Fatal(err)
		}
		back := m.ProtoReflect().Type().New().Interface().(kitCodec)
		if err := back.UnmarshalKit(ub); err != nil || !proto.Equal(back, m) {
			t.Fatalf("%s: UnmarshalKit of upstream's bytes: %v, equal %t", up, err, proto.Equal(back, m))
		}
	}
}

// sameFields compares a kit message with a message of upstream's descriptor field by
// field number: the same fields set, with equal values, and no unknown fields in either.
func sameFields(kit, up protoreflect.Message) error {
	if len(kit.GetUnknown()) > 0 || len(up.GetUnknown()) > 0 {
		return fmt.Errorf("%s: unknown fields %x / upstream %x", up.Descriptor().FullName(), kit.GetUnknown(), up.GetUnknown())
	}
	fields := kit.Descriptor().Fields()
	if n := up.Descriptor().Fields().Len(); n != fields.Len() {
		return fmt.Errorf("%s: %d fields, upstream %d", up.Descriptor().FullName(), fields.Len(), n)
	}
	for i := 0; i < fields.Len(); i++ {
		kf := fields.Get(i)
		uf := up.Descriptor().Fields().ByNumber(kf.Number())
		if uf == nil || kit.Has(kf) != up.Has(uf) {
			return fmt.Errorf("field %s: set %t, upstream's not alike", kf.FullName(), kit.Has(kf))
		}
		if !kit.Has(kf) {
			continue
		}
		kv, uv := kit.Get(kf), up.Get(uf)
		if kf.IsList() {
			kl, ul := kv.List(), uv.List()
			if kl.Len() != ul.Len() {
				return fmt.Errorf("field %s: %d elements, upstream %d", kf.FullName(), kl.Len(), ul.Len())
			}
			for j := 0; j < kl.Len(); j++ {
				if err := sameValue(kf, kl.Get(j), ul.Get(j)); err != nil {
					return err
				}
			}
			continue
		}
		if err := sameValue(kf, kv, uv); err != nil {
			return err
		}
	}
	return nil
}

// sameValue compares one value of field fd.
func sameValue(fd protoreflect.FieldDescriptor, kit, up protoreflect.Value) error {
	switch fd.Kind() {
	case protoreflect.MessageKind:
		return sameFields(kit.Message(), up.Message())
	case protoreflect.BytesKind:
		if !bytes.Equal(kit.Bytes(), up.Bytes()) {
			return fmt.Errorf("field %s: %x, upstream %x", fd.FullName(), kit.Bytes(), up.Bytes())
		}
	default:
		if kit.Interface() != up.Interface() {
			return fmt.Errorf("field %s: %v, upstream %v", fd.FullName(), kit.Interface(), up.Interface())
		}
	}
	return nil
}
