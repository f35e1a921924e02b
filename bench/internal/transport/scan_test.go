package transport

import (
	"fmt"
	"testing"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
	"github.com/etcdkit/etcdkit/etcd"
)

// scanKeys is how many keys of 1 KiB BenchmarkScan reads per op.
const scanKeys = 20000

// BenchmarkScan reads scanKeys keys of 1 KiB with Scan (over KV.RangeStream on 3.7) and
// reports the client's CPU time (user and system, getrusage) per key beside the wall time.
func BenchmarkScan(b *testing.B) {
	c, err := etcd.New(etcd.Config{Endpoints: []string{endpoint}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := b.Context()
	value := string(make([]byte, 1024))
	for i := range scanKeys {
		if _, err := c.Put(ctx, fmt.Sprintf("scan/%07d", i), value); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	start := harness.CPUTime()
	for b.Loop() {
		n := 0
		for kv, err := range c.Scan(ctx, etcd.Prefix("scan/")) {
			if err != nil || len(kv.Value) != len(value) {
				b.Fatal(kv.Key, err)
			}
			n++
		}
		if n != scanKeys {
			b.Fatalf("%d keys; want %d", n, scanKeys)
		}
	}
	b.ReportMetric(float64((harness.CPUTime()-start).Nanoseconds())/float64(b.N*scanKeys), "cpu-ns/key")
}
