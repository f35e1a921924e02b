// Package rawclient drives etcdkit's generated stubs (gen/) directly over one gRPC
// connection: the floor the client libraries are measured against. It does the least that
// each workload needs and nothing a real client must (no retries, no failover, no auth).
package rawclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
)

// Client is the raw-stub client. It satisfies harness.Client.
type Client struct {
	conn  *grpc.ClientConn
	kv    etcdserverpb.KVClient
	watch etcdserverpb.WatchClient
	lease etcdserverpb.LeaseClient

	keeperOnce sync.Once
	keeper     *keeper
	keeperErr  error
	stop       context.CancelFunc
	ctx        context.Context // the keeper's lifetime
}

// New connects to the first endpoint. The receive limit is raised by List's calls alone (see
// listRecv), so maxResponse is not needed.
func New(endpoints []string, _ int) (harness.Client, error) { return Dial(endpoints[0]) }

// Dial connects to one endpoint.
func Dial(endpoint string) (*Client, error) {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Client{
		conn: conn, ctx: ctx, stop: stop,
		kv:    etcdserverpb.NewKVClient(conn),
		watch: etcdserverpb.NewWatchClient(conn),
		lease: etcdserverpb.NewLeaseClient(conn),
	}, nil
}

// Close closes the connection.
func (c *Client) Close() error {
	c.stop()
	return c.conn.Close()
}

// bytes views s as a byte slice without copying; the stubs only read it.
func bytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// Put writes value under key.
func (c *Client) Put(ctx context.Context, key, value string) error {
	_, err := c.kv.Put(ctx, &etcdserverpb.PutRequest{Key: bytes(key), Value: bytes(value)})
	return err
}

// Get reads key.
func (c *Client) Get(ctx context.Context, key string) error {
	resp, err := c.kv.Range(ctx, &etcdserverpb.RangeRequest{Key: bytes(key)})
	if err == nil && len(resp.Kvs) == 0 {
		err = errors.New("key not found")
	}
	return err
}

// CAS puts value under key if the key's value is value, else reads the key.
func (c *Client) CAS(ctx context.Context, key, value string) error {
	k, v := bytes(key), bytes(value)
	resp, err := c.kv.Txn(ctx, &etcdserverpb.TxnRequest{
		Compare: []*etcdserverpb.Compare{{
			Result: etcdserverpb.Compare_EQUAL, Target: etcdserverpb.Compare_VALUE, Key: k,
			TargetUnion: &etcdserverpb.Compare_Value{Value: v},
		}},
		Success: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestPut{
			RequestPut: &etcdserverpb.PutRequest{Key: k, Value: v}}}},
		Failure: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestRange{
			RequestRange: &etcdserverpb.RangeRequest{Key: k}}}},
	})
	if err == nil && !resp.Succeeded {
		err = errors.New("compare failed")
	}
	return err
}

// Revision returns the store's revision.
func (c *Client) Revision(ctx context.Context) (int64, error) {
	resp, err := c.kv.Range(ctx, &etcdserverpb.RangeRequest{Key: []byte{0}, CountOnly: true})
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

// prefixEnd is the end of the range of keys under prefix (prefix not all 0xff).
func prefixEnd(prefix string) []byte {
	end := []byte(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0}
}

// openWatch opens a watch stream of its own, which ends with ctx, and creates one watcher on it.
func (c *Client) openWatch(ctx context.Context, req *etcdserverpb.WatchCreateRequest) (grpc.BidiStreamingClient[etcdserverpb.WatchRequest, etcdserverpb.WatchResponse], error) {
	st, err := c.watch.Watch(ctx)
	if err != nil {
		return nil, err
	}
	err = st.Send(&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{CreateRequest: req}})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Watch opens a watch stream of its own on the keys under prefix.
func (c *Client) Watch(ctx context.Context, prefix string, from int64, event func(key, value []byte) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.openWatch(ctx, &etcdserverpb.WatchCreateRequest{Key: []byte(prefix), RangeEnd: prefixEnd(prefix), StartRevision: from})
	if err != nil {
		return err
	}
	for {
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		if resp.Canceled {
			return fmt.Errorf("watch canceled: %s", resp.CancelReason)
		}
		for _, ev := range resp.Events {
			if ev.Type == mvccpb.Event_PUT && !event(ev.Kv.Key, ev.Kv.Value) {
				return nil
			}
		}
	}
}

// listPage is the page size of the paged list, the same as etcdkit's Scan.
const listPage = 1000

// listRecv raises the receive limit of List's calls to harness.MaxResponse. It is a per-call
// option, not a connection default: a default would cost grpc-go work on every call of the
// other workloads, which the raw stubs are the floor for.
var listRecv = grpc.MaxCallRecvMsgSize(harness.MaxResponse)

// List reads the keys under prefix over one RangeStream, in pages at the first page's
// revision, or in one range.
func (c *Client) List(ctx context.Context, prefix, workload string, each func(key, value []byte)) (int, error) {
	req := &etcdserverpb.RangeRequest{Key: []byte(prefix), RangeEnd: prefixEnd(prefix)}
	switch workload {
	case harness.List:
		return c.listStream(ctx, req, each)
	case harness.ListPaged:
		req.Limit = listPage
	}
	n := 0
	for {
		resp, err := c.kv.Range(ctx, req, listRecv)
		if err != nil {
			return n, err
		}
		req.Revision = resp.Header.Revision
		for _, kv := range resp.Kvs {
			each(kv.Key, kv.Value)
		}
		n += len(resp.Kvs)
		if !resp.More || len(resp.Kvs) == 0 {
			return n, nil
		}
		last := resp.Kvs[len(resp.Kvs)-1].Key
		req.Key = append(last[:len(last):len(last)], 0)
	}
}

// listStream reads req over one KV.RangeStream: the server chunks the range, at one revision.
func (c *Client) listStream(ctx context.Context, req *etcdserverpb.RangeRequest, each func(key, value []byte)) (int, error) {
	st, err := c.kv.RangeStream(ctx, req)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		resp, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		for _, kv := range resp.GetRangeResponse().GetKvs() {
			each(kv.Key, kv.Value)
		}
		n += len(resp.GetRangeResponse().GetKvs())
	}
}

// WatchKeys creates every watcher on one stream of its own and routes events by watch ID. The
// server answers creates in the order sent, which gives each ID its key.
func (c *Client) WatchKeys(ctx context.Context, keys []string, from int64, event func(i int, value []byte)) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	st, err := c.watch.Watch(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	// Receive from the start: creates are answered while they are sent, and a stream nobody
	// reads stops the server reading it.
	done := make(chan struct{})
	go func() {
		defer close(done)
		index := make(map[int64]int, len(keys))
		for {
			resp, err := st.Recv()
			if err != nil {
				return
			}
			if resp.Created {
				index[resp.WatchId] = len(index)
			}
			for _, ev := range resp.Events {
				if ev.Type == mvccpb.Event_PUT {
					event(index[resp.WatchId], ev.Kv.Value)
				}
			}
		}
	}()
	for _, k := range keys {
		err := st.Send(&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{
			CreateRequest: &etcdserverpb.WatchCreateRequest{Key: bytes(k), StartRevision: from}}})
		if err != nil {
			cancel()
			<-done
			return nil, err
		}
	}
	return func() { cancel(); <-done }, nil
}

// Grant grants a lease.
func (c *Client) Grant(ctx context.Context, ttl time.Duration) (int64, error) {
	resp, err := c.lease.LeaseGrant(ctx, &etcdserverpb.LeaseGrantRequest{TTL: int64(ttl / time.Second)})
	if err != nil {
		return 0, err
	}
	return resp.ID, nil
}

// Revoke ends the lease.
func (c *Client) Revoke(ctx context.Context, id int64) error {
	_, err := c.lease.LeaseRevoke(ctx, &etcdserverpb.LeaseRevokeRequest{ID: id})
	return err
}

// TTL returns the lease's remaining TTL, -1 when it is gone.
func (c *Client) TTL(ctx context.Context, id int64) (int64, error) {
	resp, err := c.lease.LeaseTimeToLive(ctx, &etcdserverpb.LeaseTimeToLiveRequest{ID: id})
	if err != nil {
		return 0, err
	}
	return resp.TTL, nil
}

// KeepAlive renews lease id at once on the client's one keep-alive stream, which also says
// whether the lease exists, and then every third of the TTL the server grants, until ctx ends.
// Renewing at once rather than first asking for the lease's TTL (which does not renew it) is
// what keeps a lease granted a while ago alive when thousands are registered under load.
func (c *Client) KeepAlive(ctx context.Context, id int64) error {
	c.keeperOnce.Do(func() { c.keeper, c.keeperErr = c.startKeeper() })
	if c.keeperErr != nil {
		return c.keeperErr
	}
	return c.keeper.add(ctx, id)
}

// keeper sends the keep-alives of every lease on one stream: the ticker's goroutine sends the
// renewals that are due, one goroutine reads the answers, and a lease's first renewal is sent
// by the goroutine that adds it.
type keeper struct {
	sendMu sync.Mutex // the stream allows one sender at a time
	st     grpc.BidiStreamingClient[etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponse]

	mu     sync.Mutex
	leases map[int64]*kept
	err    error // why the stream ended
}

type kept struct {
	ctx   context.Context
	every time.Duration
	next  time.Time
	first chan int64 // receives the TTL of the first answer, then is nil
}

func (c *Client) startKeeper() (*keeper, error) {
	st, err := c.lease.LeaseKeepAlive(c.ctx)
	if err != nil {
		return nil, err
	}
	k := &keeper{st: st, leases: map[int64]*kept{}}
	go k.receive()
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		var due []int64
		for {
			select {
			case <-c.ctx.Done():
				return
			case now := <-tick.C:
				due = k.due(now, due[:0])
				for _, id := range due {
					if k.send(id) != nil {
						return
					}
				}
			}
		}
	}()
	return k, nil
}

func (k *keeper) send(id int64) error {
	k.sendMu.Lock()
	defer k.sendMu.Unlock()
	return k.st.Send(&etcdserverpb.LeaseKeepAliveRequest{ID: id})
}

// receive reads the answers: the first for a lease goes to the goroutine adding it, the TTL
// sets how often the lease is renewed, and a TTL of 0 or less means the lease is gone.
func (k *keeper) receive() {
	for {
		resp, err := k.st.Recv()
		k.mu.Lock()
		if err != nil {
			k.err = err
			for id, l := range k.leases {
				if l.first != nil {
					close(l.first)
				}
				delete(k.leases, id)
			}
			k.mu.Unlock()
			return
		}
		if l := k.leases[resp.ID]; l != nil {
			if l.first != nil {
				l.first <- resp.TTL // buffered: add waits for it
				l.first = nil
			}
			if resp.TTL <= 0 {
				delete(k.leases, resp.ID)
			} else {
				l.every = time.Duration(resp.TTL) * time.Second / 3
			}
		}
		k.mu.Unlock()
	}
}

// add renews lease id once and, if the server still has it, keeps it from then on.
func (k *keeper) add(ctx context.Context, id int64) error {
	first := make(chan int64, 1)
	k.mu.Lock()
	if k.err != nil {
		k.mu.Unlock()
		return k.err
	}
	// Not due until the first answer sets its period.
	k.leases[id] = &kept{ctx: ctx, first: first, next: time.Now().Add(time.Hour)}
	k.mu.Unlock()
	if err := k.send(id); err != nil {
		return err
	}
	select {
	case ttl, ok := <-first:
		if !ok {
			return fmt.Errorf("keep-alive stream: %w", k.streamErr())
		}
		if ttl <= 0 {
			return fmt.Errorf("lease %x not found", id)
		}
		k.mu.Lock()
		if l := k.leases[id]; l != nil {
			l.next = time.Now().Add(l.every)
		}
		k.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (k *keeper) streamErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}

// due appends the leases due for renewal at now, forgetting those whose context ended.
func (k *keeper) due(now time.Time, out []int64) []int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, l := range k.leases {
		switch {
		case l.ctx.Err() != nil:
			delete(k.leases, id)
		case !now.Before(l.next):
			l.next = now.Add(l.every)
			out = append(out, id)
		}
	}
	return out
}

// NewLocker returns a contender with its own lease, kept alive on the shared stream.
func (c *Client) NewLocker(ctx context.Context, name string) (harness.Locker, error) {
	id, err := c.Grant(ctx, 60*time.Second)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(c.ctx)
	if err := c.KeepAlive(lctx, id); err != nil {
		cancel()
		return nil, err
	}
	return &locker{c: c, lease: id, prefix: name + "/", key: name + "/" + strconv.FormatInt(id, 16), cancel: cancel}, nil
}

// locker is etcd's lock recipe: a key under the lock's prefix with the contender's lease,
// then wait for the deletion of the key created just before it. The wait watches the
// predecessor without a start revision, so that the watcher is synced at once (see
// DESIGN.md), and checks the predecessor again when the watch starts later than the read.
type locker struct {
	c      *Client
	lease  int64
	prefix string
	key    string
	cancel context.CancelFunc
}

func (l *locker) Lock(ctx context.Context) error {
	k := bytes(l.key)
	resp, err := l.c.kv.Txn(ctx, &etcdserverpb.TxnRequest{
		Compare: []*etcdserverpb.Compare{{
			Result: etcdserverpb.Compare_EQUAL, Target: etcdserverpb.Compare_CREATE, Key: k,
			TargetUnion: &etcdserverpb.Compare_CreateRevision{CreateRevision: 0},
		}},
		Success: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestPut{
			RequestPut: &etcdserverpb.PutRequest{Key: k, Lease: l.lease}}}},
		Failure: []*etcdserverpb.RequestOp{{Request: &etcdserverpb.RequestOp_RequestRange{
			RequestRange: &etcdserverpb.RangeRequest{Key: k}}}},
	})
	if err != nil {
		return err
	}
	mine := resp.Header.Revision
	if !resp.Succeeded {
		mine = resp.Responses[0].GetResponseRange().Kvs[0].CreateRevision
	}
	for {
		pred, err := l.c.kv.Range(ctx, &etcdserverpb.RangeRequest{
			Key: bytes(l.prefix), RangeEnd: prefixEnd(l.prefix), Limit: 1,
			SortOrder: etcdserverpb.RangeRequest_DESCEND, SortTarget: etcdserverpb.RangeRequest_CREATE,
			MaxCreateRevision: mine - 1,
		})
		if err != nil {
			return err
		}
		if len(pred.Kvs) == 0 {
			return nil
		}
		if err := l.waitDelete(ctx, pred.Kvs[0], pred.Header.Revision); err != nil {
			return err
		}
	}
}

// waitDelete returns once the predecessor pred, read at revision rev, is deleted. The
// predecessor's session may have created its key again since; that is a new key (a newer
// create revision), so the check compares create revisions, not existence.
func (l *locker) waitDelete(ctx context.Context, pred *mvccpb.KeyValue, rev int64) error {
	key := pred.Key
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := l.c.openWatch(ctx, &etcdserverpb.WatchCreateRequest{
		Key: key, Filters: []etcdserverpb.WatchCreateRequest_FilterType{etcdserverpb.WatchCreateRequest_NOPUT},
	})
	if err != nil {
		return err
	}
	for {
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		if resp.Created && resp.Header.Revision > rev {
			// Written since the read: the key may be gone already.
			got, err := l.c.kv.Range(ctx, &etcdserverpb.RangeRequest{Key: key})
			if err != nil {
				return err
			}
			if len(got.Kvs) == 0 || got.Kvs[0].CreateRevision != pred.CreateRevision {
				return nil
			}
		}
		if len(resp.Events) > 0 {
			return nil
		}
	}
}

func (l *locker) Unlock(ctx context.Context) error {
	_, err := l.c.kv.DeleteRange(ctx, &etcdserverpb.DeleteRangeRequest{Key: bytes(l.key)})
	return err
}

func (l *locker) Close() error {
	l.cancel()
	_, err := l.c.lease.LeaseRevoke(context.Background(), &etcdserverpb.LeaseRevokeRequest{ID: l.lease})
	return err
}

// Conn returns the client's connection.
func (c *Client) Conn() grpc.ClientConnInterface { return c.conn }
