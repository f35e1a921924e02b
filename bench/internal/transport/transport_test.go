// Package transport measures the gRPC transport options of issue 22 item 3 against a real
// etcd: allocations per call of etcdkit's Get, Put and compare-and-swap with each option
// added through Config.DialOptions, beside the bare stubs' same calls
// (go test -run XXX -bench . -benchtime 3000x -count 3 ./internal/transport/), and Scan's
// client CPU per key (BenchmarkScan), in process, for profiling.
package transport

import (
	"runtime"
	"testing"

	"google.golang.org/grpc"

	"github.com/etcdkit/etcdkit/bench/internal/benchetcd"
	"github.com/etcdkit/etcdkit/bench/internal/rawclient"
	"github.com/etcdkit/etcdkit/etcd"
)

var endpoint string

func TestMain(m *testing.M) { benchetcd.Main(m, "transport", &endpoint) }

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
		b.Run("put64/"+v.name, func(b *testing.B) {
			callers64(b, func() error { _, err := c.Put(ctx, "t/k", value); return err })
		})
		b.Run("get64/"+v.name, func(b *testing.B) {
			callers64(b, func() error { _, err := c.Get(ctx, "t/k"); return err })
		})
		c.Close()
	}
}

// BenchmarkRaw is the bare stubs' same calls, made by bench/internal/rawclient, the runner
// make bench measures.
func BenchmarkRaw(b *testing.B) {
	c, err := rawclient.Dial(endpoint)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := b.Context()
	if err := c.Put(ctx, "t/r", value); err != nil {
		b.Fatal(err)
	}
	for _, op := range []struct {
		name string
		call func() error
	}{
		{"put", func() error { return c.Put(ctx, "t/r", value) }},
		{"get", func() error { return c.Get(ctx, "t/r") }},
		{"cas", func() error { return c.CAS(ctx, "t/r", value) }},
	} {
		b.Run(op.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := op.call(); err != nil {
					b.Fatal(err)
				}
			}
		})
		if op.name != "cas" {
			b.Run(op.name+"64", func(b *testing.B) { callers64(b, op.call) })
		}
	}
}

// callers64 runs call from 64 goroutines at once, as make bench's ×64 cases do.
func callers64(b *testing.B, call func() error) {
	b.ReportAllocs()
	b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
