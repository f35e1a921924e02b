package harness_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
	"github.com/etcdkit/etcdkit/bench/internal/kitclient"
	"github.com/etcdkit/etcdkit/bench/internal/rawclient"
	"github.com/etcdkit/etcdkit/bench/internal/v3client"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestSmoke runs every workload, tiny, with every client against a real etcd: the
// benchmark's plumbing and its correctness checks, not its figures.
func TestSmoke(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	eps := cl.Endpoints()
	clients := []struct {
		name string
		new  harness.NewFunc
	}{
		{"etcdkit", kitclient.New},
		{"clientv3", v3client.New},
		{"raw", rawclient.New},
	}
	workloads := []harness.Config{
		{Workload: harness.Put, Conc: 4, N: 200},
		{Workload: harness.Get, Conc: 4, N: 200},
		{Workload: harness.Txn, Conc: 4, N: 200},
		{Workload: harness.Watch, N: 300, Timeout: 20 * time.Second},
		{Workload: harness.Lock, Conc: 3, N: 12},
		{Workload: harness.KeepAlive, N: 5, Duration: 500 * time.Millisecond, TTL: 3 * time.Second},
	}
	writer, err := rawclient.Dial(eps[0])
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	for _, cc := range clients {
		for _, w := range workloads {
			t.Run(cc.name+"/"+w.Workload, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				c, err := cc.new(eps)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				w.Prefix = fmt.Sprintf("smoke/%s/%s/", cc.name, w.Workload)
				w.ValueSize = 64
				written := make(chan error, 1)
				r, err := harness.Run(ctx, c, w, func() {
					go func() {
						written <- harness.WriteEvents(ctx, writer.Put, w.Prefix, w.N, w.ValueSize, 4)
					}()
				})
				if err != nil {
					t.Fatal(err)
				}
				if w.Workload == harness.Watch {
					if err := <-written; err != nil {
						t.Fatal(err)
					}
				}
				if r.Errors != 0 || r.Faults != 0 || r.Ops == 0 || r.Rate <= 0 || r.CPU < 0 || r.Allocs <= 0 || r.RSS <= 0 {
					t.Fatalf("bad result %+v", r)
				}
			})
		}
	}
}
