// Package transport measures the gRPC transport options of issue 22 item 3 against a real
// etcd: allocations per call of etcdkit's Get, Put and compare-and-swap with each option
// added through Config.DialOptions, beside the bare stubs' same calls
// (go test -run XXX -bench . -benchtime 3000x -count 3 ./internal/transport/).
package transport

import (
	"os"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

var endpoint string

func TestMain(m *testing.M) {
	if _, err := etcdtest.BinaryPath("etcd", ""); err != nil && os.Getenv("CI") == "" {
		os.Stderr.WriteString("transport: no etcd to measure against, skipped: " + err.Error() + "\n")
		os.Exit(0)
	}
	cl, err := etcdtest.Start(etcdtest.Options{Args: []string{"--unsafe-no-fsync"}})
	if err != nil {
		os.Stderr.WriteString("transport: " + err.Error() + "\n")
		os.Exit(1)
	}
	endpoint = cl.Endpoints()[0]
	code := m.Run()
	cl.Stop()
	os.Exit(code)
}

// value is the benchmark runners' value size.
var value = string(make([]byte, 256))

// variants are dial options tried, each on its own over the client's: gRPC's shared write
// buffer (which the client turns off), and two the client does not use because they did
// not lower the count (no gRPC retries, no read buffer).
var variants = []struct {
	name string
	opts []grpc.DialOption
}{
	{"client", nil},
	{"sharedWriteBuffer", []grpc.DialOption{grpc.WithSharedWriteBuffer(true)}},
	{"noRetry", []grpc.DialOption{grpc.WithDisableRetry()}},
	{"noReadBuffer", []grpc.DialOption{grpc.WithReadBufferSize(0)}},
}

func BenchmarkKit(b *testing.B) {
	for _, v := range variants {
		c, err := etcd.New(etcd.Config{Endpoints: []string{endpoint}, DialOptions: v.opts})
		if err != nil {
			b.Fatal(err)
		}
		ctx := b.Context()
		if _, err := c.Put(ctx, "t/k", value); err != nil {
			b.Fatal(err)
		}
		b.Run("put/"+v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Put(ctx, "t/k", value); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("get/"+v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if kv, err := c.Get(ctx, "t/k"); err != nil || len(kv.Value) != len(value) {
					b.Fatal(kv, err)
				}
			}
		})
		b.Run("cas/"+v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res, err := c.SwapIfValue(ctx, "t/k", value, value); err != nil || !res.Succeeded {
					b.Fatal(res, err)
				}
			}
		})
		c.Close()
	}
}

// BenchmarkRaw is the bare stubs' same calls, as bench/internal/rawclient makes them.
func BenchmarkRaw(b *testing.B) {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	kv := etcdserverpb.NewKVClient(conn)
	ctx := b.Context()
	k, v := []byte("t/r"), []byte(value)
	if _, err := kv.Put(ctx, &etcdserverpb.PutRequest{Key: k, Value: v}); err != nil {
		b.Fatal(err)
	}
	b.Run("put", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kv.Put(ctx, &etcdserverpb.PutRequest{Key: k, Value: v}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if resp, err := kv.Range(ctx, &etcdserverpb.RangeRequest{Key: k}); err != nil || len(resp.Kvs) != 1 {
				b.Fatal(resp, err)
			}
		}
	})
	b.Run("cas", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := kv.Txn(ctx, &etcdserverpb.TxnRequest{
				Compare: []*etcdserverpb.Compare{{
					Result: etcdserverpb.Compare_EQUAL, Target: etcdserverpb.Compare_VALUE, Key: k,
					TargetUnion: &etcdserverpb.Compare_Value{Value: v},
				}},
				Success: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestPut{
					RequestPut: &etcdserverpb.PutRequest{Key: k, Value: v}}}},
				Failure: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestRange{
					RequestRange: &etcdserverpb.RangeRequest{Key: k}}}},
			})
			if err != nil || !resp.Succeeded {
				b.Fatal(resp, err)
			}
		}
	})
}
