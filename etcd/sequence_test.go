package etcd

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

func TestAppend(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{Namespace: "app/"})
	ctx := t.Context()
	const writers, each = 4, 15
	var mu sync.Mutex
	created := map[string]int64{} // key -> create revision
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				kv, err := c.Append(ctx, "queue", fmt.Sprintf("%d-%d", w, i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				created[string(kv.Key)] = kv.CreateRevision
				mu.Unlock()
			}
		}()
	}
	mustPut(t, c, "queue-sibling", "not listed") // a key that shares the dir's name as a prefix
	wg.Wait()
	var keys []string
	var revs []int64
	for kv, err := range c.Appended(ctx, "queue") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, string(kv.Key))
		revs = append(revs, kv.CreateRevision)
		if created[string(kv.Key)] != kv.CreateRevision {
			t.Fatalf("%s: create revision %d, Append said %d", kv.Key, kv.CreateRevision, created[string(kv.Key)])
		}
	}
	if len(keys) != writers*each {
		t.Fatalf("%d keys listed, %d appended", len(keys), writers*each)
	}
	if !slices.IsSorted(revs) {
		t.Fatalf("keys do not sort in creation order: %v", revs)
	}
}
