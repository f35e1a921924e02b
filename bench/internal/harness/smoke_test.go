package harness_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
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
		{Workload: harness.List, N: 2500, Prefix: "smoke/list/"},
		{Workload: harness.ListPaged, N: 2500, Prefix: "smoke/list/"},
		{Workload: harness.ListSingle, N: 2500, Prefix: "smoke/list/"},
		{Workload: harness.Watchers, Conc: 30, N: 75, Timeout: 20 * time.Second},
		{Workload: harness.Connect, N: 3},
	}
	writer, err := rawclient.Dial(eps[0])
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	// The list workloads read keys written beforehand, as the driver writes them: more than
	// two pages.
	for i := range 2500 {
		if err := writer.Put(context.Background(), harness.ListKey("smoke/list/", i), strings.Repeat("l", 64)); err != nil {
			t.Fatal(err)
		}
	}
	for _, cc := range clients {
		for _, w := range workloads {
			t.Run(cc.name+"/"+w.Workload, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				maxResponse := 0
				if w.Workload == harness.ListSingle {
					maxResponse = harness.MaxResponse
				}
				c, err := cc.new(eps, maxResponse)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if w.Prefix == "" {
					w.Prefix = fmt.Sprintf("smoke/%s/%s/", cc.name, w.Workload)
				}
				w.ValueSize = 64
				var r harness.Result
				if w.Workload == harness.Connect {
					r, err = harness.RunConnect(ctx, cc.new, eps, w)
				} else {
					keys := w.N
					if w.Workload == harness.Watchers {
						keys = w.Conc
					}
					var writers sync.WaitGroup
					written := make(chan error, 2) // a watchers run asks twice
					r, err = harness.Run(ctx, c, w, func(n int) {
						writers.Go(func() {
							written <- harness.WriteEvents(ctx, writer.Put, w.Prefix, n, keys, w.ValueSize, 4)
						})
					})
					writers.Wait()
					close(written)
					for err := range written {
						if err != nil {
							t.Fatal(err)
						}
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				if r.Errors != 0 || r.Faults != 0 || r.Ops == 0 || r.Rate <= 0 || r.CPU < 0 || r.Allocs <= 0 || r.RSS <= 0 {
					t.Fatalf("bad result %+v", r)
				}
			})
		}
	}
}
