//etcdkit:needs Watch.Watch,Lease.LeaseTimeToLive,Cluster.MemberAdd

package etcd

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// TestCodecLists runs the round trip on the constructs KV's messages lack: a packed enum
// list (unknown values included), lists of bytes and of strings with empty elements, and
// strings, which must be UTF-8 both ways.
func TestCodecLists(t *testing.T) {
	t.Parallel()
	for _, m := range []proto.Message{
		&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{CreateRequest: &etcdserverpb.WatchCreateRequest{
			Key: []byte("w"), Filters: []etcdserverpb.WatchCreateRequest_FilterType{etcdserverpb.WatchCreateRequest_NODELETE, 0, 300}, PrevKv: true,
		}}},
		&etcdserverpb.LeaseTimeToLiveResponse{Keys: [][]byte{{}, []byte("x")}, TTL: -1},
		&etcdserverpb.MemberAddRequest{PeerURLs: []string{"", "http://a"}, IsLearner: true},
	} {
		checkRoundTrip(t, m)
	}
	if _, err := (&etcdserverpb.MemberAddRequest{PeerURLs: []string{"\xff"}}).MarshalKit(); err == nil {
		t.Fatal("MarshalKit of a string that is not UTF-8 succeeded")
	}
	bad := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("\xff"))
	if err := new(etcdserverpb.MemberAddRequest).UnmarshalKit(bad); err == nil {
		t.Fatal("UnmarshalKit of a string that is not UTF-8 succeeded")
	}
	// An unpacked enum list decodes as the packed one does.
	var unpacked []byte
	for _, f := range []uint64{1, 300} {
		unpacked = protowire.AppendVarint(protowire.AppendTag(unpacked, 5, protowire.VarintType), f)
	}
	checkDecode(t, (&etcdserverpb.WatchCreateRequest{}).ProtoReflect().Type(), bytes.Clone(unpacked))
	var got etcdserverpb.WatchCreateRequest
	if err := got.UnmarshalKit(unpacked); err != nil || len(got.Filters) != 2 || got.Filters[1] != 300 {
		t.Fatalf("unpacked filters: %v, %v", got.Filters, err)
	}
}
