//etcdkit:needs Lease

package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
)

// endpoints names the server TestMain started for the examples; in a program it is a list
// such as []string{"127.0.0.1:2379"}.
func endpoints() []string { return strings.Split(os.Getenv("ETCDKIT_EXAMPLE_ENDPOINTS"), ",") }

// Connect, write a key and read it back.
func Example() {
	c, err := etcd.New(etcd.Config{Endpoints: endpoints()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	if _, err := c.Put(ctx, "greeting", "hello"); err != nil {
		log.Fatal(err)
	}
	kv, err := c.Get(ctx, "greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s = %s (version %d)\n", kv.Key, kv.Value, kv.Version)

	_, err = c.Get(ctx, "no/such/key")
	fmt.Println(errors.Is(err, etcd.ErrKeyNotFound), err)
	// Output:
	// greeting = hello (version 1)
	// true etcd: get "no/such/key": key not found
}

// Read every key under a prefix.
func ExampleClient_Range() {
	c, err := etcd.New(etcd.Config{Endpoints: endpoints()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	for _, k := range []string{"cfg/b", "cfg/a", "cfg/c", "cfgx"} {
		if _, err := c.Put(ctx, k, strings.ToUpper(k)); err != nil {
			log.Fatal(err)
		}
	}
	res, err := c.Range(ctx, etcd.Prefix("cfg/"), etcd.Limit(2))
	if err != nil {
		log.Fatal(err)
	}
	for _, kv := range res.KVs {
		fmt.Printf("%s=%s\n", kv.Key, kv.Value)
	}
	fmt.Println("more:", res.More, "count:", res.Count)
	// Output:
	// cfg/a=CFG/A
	// cfg/b=CFG/B
	// more: true count: 3
}

// Compare-and-swap: change a value only if nobody changed it since it was read.
func ExampleClient_Txn() {
	c, err := etcd.New(etcd.Config{Endpoints: endpoints()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	if _, err := c.Put(ctx, "balance", "100"); err != nil {
		log.Fatal(err)
	}
	kv, err := c.Get(ctx, "balance")
	if err != nil {
		log.Fatal(err)
	}
	for _, value := range []string{"90", "80"} {
		res, err := c.Txn(ctx, etcd.Txn{
			If:   []etcd.Cmp{etcd.CompareModRevision(etcd.Key("balance")).Equal(kv.ModRevision)},
			Then: []etcd.Op{etcd.OpPut("balance", value)},
			Else: []etcd.Op{etcd.OpGet(etcd.Key("balance"))},
		})
		if err != nil {
			log.Fatal(err)
		}
		if res.Succeeded {
			fmt.Println("set", value)
		} else {
			fmt.Println("lost: balance is", string(res.Results[0].Get.KVs[0].Value))
		}
	}
	// Output:
	// set 90
	// lost: balance is 90
}

// The python-etcd family of compare-and-swap calls.
func ExampleClient_PutIfAbsent() {
	c, err := etcd.New(etcd.Config{Endpoints: endpoints()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	for _, owner := range []string{"alice", "bob"} {
		res, err := c.PutIfAbsent(ctx, "owner", owner)
		if err != nil {
			log.Fatal(err)
		}
		if res.Succeeded {
			fmt.Println(owner, "took it")
		} else {
			fmt.Println(owner, "lost to", string(res.Current.Value))
		}
	}
	// Output:
	// alice took it
	// bob lost to alice
}

// A key on a lease disappears when the lease expires.
func ExampleClient_PutWithTTL() {
	c, err := etcd.New(etcd.Config{Endpoints: endpoints()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	res, err := c.PutWithTTL(ctx, "session/worker-1", "alive", 2*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	info, err := c.TimeToLive(ctx, res.Lease, etcd.AttachedKeys())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("granted %v, keys %q\n", info.GrantedTTL, info.Keys)

	for {
		if _, err := c.Get(ctx, "session/worker-1"); errors.Is(err, etcd.ErrKeyNotFound) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err = c.TimeToLive(ctx, res.Lease)
	fmt.Println("after expiry:", errors.Is(err, etcd.ErrLeaseNotFound))
	// Output:
	// granted 2s, keys ["session/worker-1"]
	// after expiry: true
}
