// Package txnalloc measures what etcdkit's general Txn value costs over the bare stubs for
// the same transaction (one value compare, one put): allocations and bytes per call, one
// caller, against a real etcd (go test -bench . ./internal/txnalloc/).
package txnalloc

import (
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/etcdkit/etcdkit/bench/internal/benchetcd"
	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

var endpoint string

func TestMain(m *testing.M) { benchetcd.Main(m, "txnalloc", &endpoint) }

// BenchmarkTxn is etcdkit's Txn: If value == "v", Then put "v".
func BenchmarkTxn(b *testing.B) {
	c, err := etcd.New(etcd.Config{Endpoints: []string{endpoint}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := b.Context()
	if _, err := c.Put(ctx, "txn/k", "v"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Txn(ctx, etcd.Txn{
			If:   []etcd.Cmp{etcd.CompareValue(etcd.Key("txn/k")).Equal("v")},
			Then: []etcd.Op{etcd.OpPut("txn/k", "v")},
		})
		if err != nil || !res.Succeeded || res.Results[0].Put == nil {
			b.Fatalf("Txn: %+v, %v", res, err)
		}
	}
}

// BenchmarkStubs is the same transaction over the generated stubs.
func BenchmarkStubs(b *testing.B) {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	kv := etcdserverpb.NewKVClient(conn)
	ctx := b.Context()
	if _, err := kv.Put(ctx, &etcdserverpb.PutRequest{Key: []byte("txn/s"), Value: []byte("v")}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := kv.Txn(ctx, &etcdserverpb.TxnRequest{
			Compare: []*etcdserverpb.Compare{{Target: etcdserverpb.Compare_VALUE, Result: etcdserverpb.Compare_EQUAL,
				Key: []byte("txn/s"), TargetUnion: &etcdserverpb.Compare_Value{Value: []byte("v")}}},
			Success: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestPut{
				RequestPut: &etcdserverpb.PutRequest{Key: []byte("txn/s"), Value: []byte("v")}}}},
		})
		if err != nil || !resp.Succeeded {
			b.Fatalf("Txn: %v, %v", resp, err)
		}
	}
}
