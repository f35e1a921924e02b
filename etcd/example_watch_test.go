//etcdkit:needs Watch

package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
)

// Watch options: a created notification, only deletes, and previous values.
func ExampleWatchOption() {
	c := connect()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	put, err := c.Put(ctx, "wo/a", "1")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Delete(ctx, etcd.Key("wo/a")); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Put(ctx, "wo/b", "2"); err != nil {
		log.Fatal(err)
	}
	// From the first put on: every put, then only deletes with the value they removed.
	for ev, err := range c.Watch(ctx, etcd.Prefix("wo/"), etcd.FromRevision(put.Header.Revision), etcd.CreatedNotify()) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.Type, string(ev.KV.Key), ev.IsCreate())
		if string(ev.KV.Key) == "wo/b" {
			break
		}
	}
	for ev, err := range c.Watch(ctx, etcd.Prefix("wo/"), etcd.FromRevision(put.Header.Revision), etcd.NoPut(), etcd.PrevKV()) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.Type, string(ev.KV.Key), "was", string(ev.PrevKV.Value))
		break
	}
	for ev, err := range c.Watch(ctx, etcd.Prefix("wo/"), etcd.FromRevision(put.Header.Revision), etcd.NoDelete()) {
		if err != nil {
			log.Fatal(err)
		}
		if fmt.Println(ev.Type, string(ev.KV.Key)); string(ev.KV.Key) == "wo/b" {
			break
		}
	}
	// Output:
	// CREATED  false
	// PUT wo/a true
	// DELETE wo/a false
	// PUT wo/b true
	// DELETE wo/a was 1
	// PUT wo/a
	// PUT wo/b
}

// WatchResponses yields whole responses with their headers; RequestProgress asks for a
// progress notification, which ProgressNotify lets through.
func ExampleClient_WatchResponses() {
	c := connect()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	n := 0
	for resp, err := range c.WatchResponses(ctx, etcd.Prefix("wr/"), etcd.CreatedNotify(), etcd.ProgressNotify()) {
		if err != nil {
			log.Fatal(err)
		}
		n++
		switch resp.Events[0].Type {
		case etcd.EventCreated:
			fmt.Println("created, header from the cluster:", resp.Header.ClusterID != 0)
			if _, err := c.Put(ctx, "wr/a", "1"); err != nil {
				log.Fatal(err)
			}
		case etcd.EventPut:
			if string(resp.Events[0].KV.Key) == "wr/marker" {
				fmt.Println("caught up") // the marker put below, on servers before 3.5.8
				break
			}
			fmt.Println("put", string(resp.Events[0].KV.Key), "at the header's revision:", resp.Header.Revision == resp.Events[0].Revision)
			err := c.RequestProgress(ctx)
			if errors.Is(err, etcd.ErrNotSupported) {
				// Servers before 3.5.8 may not answer: a write of our own tells instead.
				_, err = c.Put(ctx, "wr/marker", "")
			}
			if err != nil {
				log.Fatal(err)
			}
		case etcd.EventProgress:
			fmt.Println("caught up")
		}
		if n == 3 {
			break
		}
	}
	// Output:
	// created, header from the cluster: true
	// put wr/a at the header's revision: true
	// caught up
}

// ListWatch lists a range, then follows it; after a compaction outruns it, it lists again.
func ExampleClient_ListWatch() {
	c := connect()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, err := c.Put(ctx, "lw/a", "1"); err != nil {
		log.Fatal(err)
	}
	state := map[string]string{}
	for step, err := range c.ListWatch(ctx, etcd.Prefix("lw/")) {
		if err != nil {
			log.Fatal(err)
		}
		if step.Resync {
			clear(state)
			for _, kv := range step.KVs {
				state[string(kv.Key)] = string(kv.Value)
			}
			fmt.Println("listed", state)
			if _, err := c.Put(ctx, "lw/b", "2"); err != nil {
				log.Fatal(err)
			}
			continue
		}
		state[string(step.Event.KV.Key)] = string(step.Event.KV.Value)
		fmt.Println(step.Event.Type, "->", state)
		break
	}
	// Output:
	// listed map[lw/a:1]
	// PUT -> map[lw/a:1 lw/b:2]
}

// A watch that needs compacted history ends with a *CompactedError.
func ExampleCompactedError() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	old, err := c.Put(ctx, "ce/k", "1")
	if err != nil {
		log.Fatal(err)
	}
	now, err := c.Put(ctx, "ce/k", "2")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Compact(ctx, now.Header.Revision); err != nil {
		log.Fatal(err)
	}
	for _, err := range c.Watch(ctx, etcd.Key("ce/k"), etcd.FromRevision(old.Header.Revision)) {
		var ce *etcd.CompactedError
		fmt.Println(errors.Is(err, etcd.ErrCompacted), errors.As(err, &ce) && ce.Revision == now.Header.Revision, ce.Error() != "")
		break
	}
	// Output:
	// true true true
}

// A mirror answers reads from memory and says whether it follows the server.
func ExampleMirror() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	for _, k := range []string{"mr/a", "mr/b"} {
		if _, err := c.Put(ctx, k, "v"); err != nil {
			log.Fatal(err)
		}
	}
	m, err := c.NewMirror(ctx, etcd.Prefix("mr/"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Len(), m.Err())
	if err := m.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Len(), errors.Is(m.Err(), etcd.ErrClosed))
	// Output:
	// 2 <nil>
	// 2 true
}
