package etcd

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestRecycledCalls checks that the results of Get, Range, Put and Txn stay as they were
// read while later calls reuse the messages they were decoded from (rangeCall, putCall), from
// several goroutines at once, and that each reply's header is its own.
func TestRecycledCalls(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{})
	ctx := t.Context()
	value := func(g, i int) string { return strings.Repeat(fmt.Sprintf("%d.%d;", g, i), 1+i%40) }

	const goroutines, calls = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var kvs []KeyValue
			var puts []PutResult
			var txns []TxnResult
			for i := range calls {
				key := fmt.Sprintf("recycle/%d/%d", g, i)
				put, err := c.Put(ctx, key, value(g, i), PrevKV())
				if err != nil {
					errs <- err
					return
				}
				puts = append(puts, put)
				kv, err := c.Get(ctx, key)
				if err != nil {
					errs <- err
					return
				}
				kvs = append(kvs, kv)
				txn, err := c.Txn(ctx, Txn{
					If:   []Cmp{CompareValue(Key(key)).Equal(value(g, i))},
					Then: []Op{OpPut(key, value(g, i)+"!", PrevKV()), OpGet(Key(key))},
				})
				if err != nil || !txn.Succeeded {
					errs <- fmt.Errorf("txn %s: %+v, %v", key, txn, err)
					return
				}
				txns = append(txns, txn)
			}
			for i := range calls {
				key := fmt.Sprintf("recycle/%d/%d", g, i)
				switch {
				case string(kvs[i].Key) != key || string(kvs[i].Value) != value(g, i):
					errs <- fmt.Errorf("Get %s: kept %q = %q", key, kvs[i].Key, kvs[i].Value)
				case kvs[i].ModRevision != puts[i].Header.Revision:
					errs <- fmt.Errorf("Get %s: mod revision %d, put at %d", key, kvs[i].ModRevision, puts[i].Header.Revision)
				case i > 0 && puts[i].Header.Revision <= puts[i-1].Header.Revision:
					errs <- fmt.Errorf("Put %s: revision %d after %d", key, puts[i].Header.Revision, puts[i-1].Header.Revision)
				case txns[i].Header.Revision <= puts[i].Header.Revision:
					errs <- fmt.Errorf("Txn %s: revision %d, put at %d", key, txns[i].Header.Revision, puts[i].Header.Revision)
				case len(txns[i].Results) != 2 || txns[i].Results[0].Put.PrevKV == nil ||
					string(txns[i].Results[0].Put.PrevKV.Value) != value(g, i) ||
					len(txns[i].Results[1].Get.KVs) != 1 || string(txns[i].Results[1].Get.KVs[0].Value) != value(g, i)+"!":
					errs <- fmt.Errorf("Txn %s: results %+v", key, txns[i].Results)
				default:
					continue
				}
				return
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	res, err := c.Range(ctx, Prefix("recycle/"), CountOnly())
	if err != nil || res.Count != goroutines*calls {
		t.Fatalf("Range count = %d, %v; want %d", res.Count, err, goroutines*calls)
	}
}

// TestFlowControlWindows reads a response several times the client's fixed flow-control
// windows (1 MiB a stream, 4 MiB the connection: see dialOptions), which only completes if
// the client keeps granting the server window as it reads.
func TestFlowControlWindows(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	c := newClient(t, cl, Config{MaxResponseBytes: 16 << 20})
	ctx := t.Context()
	const keys = 9
	big := bytes.Repeat([]byte("0123456789abcdef"), (1<<20)/16) // 1 MiB, under etcd's 1.5 MiB request limit
	for i := range keys {
		big[0] = byte('a' + i)
		mustPut(t, c, fmt.Sprintf("window/%d", i), string(big))
	}
	for range 2 {
		res, err := c.Range(ctx, Prefix("window/"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.KVs) != keys {
			t.Fatalf("Range read %d keys, want %d", len(res.KVs), keys)
		}
		for i, kv := range res.KVs {
			big[0] = byte('a' + i)
			if !bytes.Equal(kv.Value, big) {
				t.Fatalf("key %s: %d bytes, not the %d written", kv.Key, len(kv.Value), len(big))
			}
		}
	}
}
