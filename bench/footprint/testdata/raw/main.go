// Command raw is the footprint probe for the bare stubs of etcdkit's vendored copy (its
// gen/, with the same keep-list as the etcdkit probe): put, get a prefix, one watch event and
// a lock/unlock (a put-if-absent under a lease, then a delete, uncontended), against the
// endpoint in os.Args[1]. benchdrive builds it in the etcdkit probe's module.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"example.com/footprint/internal/etcdkit/gen/etcdserverpb"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(endpoint string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	kv := etcdserverpb.NewKVClient(conn)
	res, err := kv.Put(ctx, &etcdserverpb.PutRequest{Key: []byte("footprint/raw/a"), Value: []byte("1")})
	if err != nil {
		return err
	}
	if _, err := kv.Range(ctx, &etcdserverpb.RangeRequest{Key: []byte("footprint/raw/"), RangeEnd: []byte("footprint/raw0")}); err != nil {
		return err
	}
	st, err := etcdserverpb.NewWatchClient(conn).Watch(ctx)
	if err != nil {
		return err
	}
	err = st.Send(&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{CreateRequest: &etcdserverpb.WatchCreateRequest{
		Key: []byte("footprint/raw/"), RangeEnd: []byte("footprint/raw0"), StartRevision: res.Header.Revision + 1,
	}}})
	if err != nil {
		return err
	}
	go kv.Put(ctx, &etcdserverpb.PutRequest{Key: []byte("footprint/raw/b"), Value: []byte("2")})
	for {
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		if len(resp.Events) > 0 {
			break
		}
	}
	lease, err := etcdserverpb.NewLeaseClient(conn).LeaseGrant(ctx, &etcdserverpb.LeaseGrantRequest{TTL: 10})
	if err != nil {
		return err
	}
	key := []byte("footprint/raw/lock/1")
	_, err = kv.Txn(ctx, &etcdserverpb.TxnRequest{
		Compare: []*etcdserverpb.Compare{{Target: etcdserverpb.Compare_CREATE, Key: key, TargetUnion: &etcdserverpb.Compare_CreateRevision{}}},
		Success: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestPut{RequestPut: &etcdserverpb.PutRequest{Key: key, Lease: lease.ID}}}},
	})
	if err != nil {
		return err
	}
	_, err = kv.DeleteRange(ctx, &etcdserverpb.DeleteRangeRequest{Key: key})
	return err
}
