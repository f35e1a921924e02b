//etcdkit:needs Lease,Watch,Cluster.MemberList,Maintenance.Status,Maintenance.Alarm

package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// Bad certificates, an unknown CA and a wrong password are covered by etcdtls's
// TestLoadErrors, TestTLSRefusesUnknownCA and TestTLSAndAuth (auth_test.go); malformed
// configurations, https:// without TLS included, by TestNewValidatesConfig. This file covers
// the calls.

// call is one public call made for the bad-input tables: the operation and key its error
// must name, and the call itself.
type call struct {
	name, op, key string
	do            func(ctx context.Context, c *Client) error
}

// firstErr returns the first error an iterator yields, or nil when it yields none before
// its first value.
func firstErr[V any](seq func(func(V, error) bool)) error {
	var err error
	for _, e := range seq {
		err = e
		break
	}
	return err
}

// everyCall lists one call of every public operation that talks to the server, on key
// "bi/k" (or lease 0x1234).
func everyCall() []call {
	const k = "bi/k"
	id := LeaseID(0x1234)
	return []call{
		{"Get", "get", k, func(ctx context.Context, c *Client) error { _, err := c.Get(ctx, k); return err }},
		{"Range", "range", k, func(ctx context.Context, c *Client) error { _, err := c.Range(ctx, Prefix(k)); return err }},
		{"Scan", "scan", k, func(ctx context.Context, c *Client) error { return firstErr(c.Scan(ctx, Prefix(k))) }},
		{"Put", "put", k, func(ctx context.Context, c *Client) error { _, err := c.Put(ctx, k, "v"); return err }},
		{"Delete", "delete", k, func(ctx context.Context, c *Client) error { _, err := c.Delete(ctx, Key(k)); return err }},
		{"Txn", "txn", k, func(ctx context.Context, c *Client) error {
			_, err := c.Txn(ctx, Txn{Then: []Op{OpPut(k, "v")}})
			return err
		}},
		{"PutIfAbsent", "put if absent", k, func(ctx context.Context, c *Client) error {
			_, err := c.PutIfAbsent(ctx, k, "v")
			return err
		}},
		{"SwapIfValue", "swap if value", k, func(ctx context.Context, c *Client) error {
			_, err := c.SwapIfValue(ctx, k, "a", "b")
			return err
		}},
		{"DeleteIfModRevision", "delete if mod revision", k, func(ctx context.Context, c *Client) error {
			_, err := c.DeleteIfModRevision(ctx, k, 1)
			return err
		}},
		{"PutWithTTL", "put", k, func(ctx context.Context, c *Client) error {
			_, err := c.PutWithTTL(ctx, k, "v", 5*time.Second)
			return err
		}},
		{"Grant", "lease grant", "", func(ctx context.Context, c *Client) error { _, err := c.Grant(ctx, 5*time.Second); return err }},
		{"Revoke", "lease revoke", id.String(), func(ctx context.Context, c *Client) error { _, err := c.Revoke(ctx, id); return err }},
		{"TimeToLive", "lease timetolive", id.String(), func(ctx context.Context, c *Client) error {
			_, err := c.TimeToLive(ctx, id)
			return err
		}},
		{"KeepAliveOnce", "lease keep-alive", id.String(), func(ctx context.Context, c *Client) error {
			_, err := c.KeepAliveOnce(ctx, id)
			return err
		}},
		{"KeepAlive", "lease keep-alive", id.String(), func(ctx context.Context, c *Client) error {
			_, err := c.KeepAlive(ctx, id)
			return err
		}},
		{"Leases", "lease list", "", func(ctx context.Context, c *Client) error { _, _, err := c.LeaseList(ctx); return err }},
		{"NewSession", "lease grant", "", func(ctx context.Context, c *Client) error {
			s, err := c.NewSession(ctx)
			if err == nil {
				s.Close()
			}
			return err
		}},
		{"Watch", "watch", k, func(ctx context.Context, c *Client) error { return firstErr(c.Watch(ctx, Prefix(k))) }},
		{"ListWatch", "list", k, func(ctx context.Context, c *Client) error { return firstErr(c.ListWatch(ctx, Prefix(k))) }},
		{"MemberList", "member list", "", func(ctx context.Context, c *Client) error { _, _, err := c.MemberList(ctx); return err }},
		{"Alarms", "alarm list", "", func(ctx context.Context, c *Client) error { _, _, err := c.AlarmList(ctx); return err }},
		{"Compact", "compact", "", func(ctx context.Context, c *Client) error { _, err := c.Compact(ctx, 1); return err }},
	}
}

// checkErr fails unless err wraps want and its message names the call's op and key.
func checkErr(t *testing.T, cl call, err, want error) {
	t.Helper()
	named := err != nil && strings.Contains(err.Error(), cl.op) && (cl.key == "" || strings.Contains(err.Error(), cl.key))
	if errors.Is(err, want) && named {
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", cl.name, err, want)
	}
	t.Fatalf("%s: %q does not name the operation %q and key %q", cl.name, err, cl.op, cl.key)
}

// TestClosedAndCancelled: every call on a closed client fails with ErrClosed, and every call
// with a cancelled context with context.Canceled, at once, naming the operation and key.
func TestClosedAndCancelled(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	closed, err := New(Config{Endpoints: cl.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	live := newClient(t, cl, Config{})
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range everyCall() {
		t.Run(c.name, func(t *testing.T) {
			begun := time.Now()
			checkErr(t, c, c.do(t.Context(), closed), ErrClosed)
			checkErr(t, c, c.do(cancelled, live), context.Canceled)
			if took := time.Since(begun); took > time.Second {
				t.Errorf("%s took %v on a closed client and a cancelled context", c.name, took)
			}
		})
	}
	if res, err := live.Range(t.Context(), All(), CountOnly()); err != nil || res.Count != 0 {
		t.Fatalf("after the failed calls the keyspace holds %d keys (%v), want none", res.Count, err)
	}
}

// TestUnreachable: against an endpoint where nothing listens, every call fails within its
// context's deadline (with the deadline or ErrUnavailable), never hangs.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	c, err := New(Config{Endpoints: []string{"127.0.0.1:1"}, DialTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	const limit = 500 * time.Millisecond
	for _, cl := range everyCall() {
		t.Run(cl.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), limit)
			defer cancel()
			begun := time.Now()
			err := cl.do(ctx, c)
			if took := time.Since(begun); took > limit+time.Second {
				t.Errorf("%s took %v with a %v deadline", cl.name, took, limit)
			}
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrUnavailable) {
				t.Fatalf("%s: %v, want the deadline or ErrUnavailable", cl.name, err)
			}
			if !strings.Contains(err.Error(), cl.op) {
				t.Errorf("%s: %q does not name %q", cl.name, err, cl.op)
			}
		})
	}
}

// TestBadInput: bad arguments to every public call fail with ErrInvalidArgument (or the
// sentinel named), naming the operation and key, without a panic or a hang, and write
// nothing. A case the client does not catch yet is skipped with what is missing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	const maxRequest = 64 << 10
	cl := etcdtest.StartCluster(t, etcdtest.Options{Args: []string{fmt.Sprintf("--max-request-bytes=%d", maxRequest)}})
	c := newClient(t, cl, Config{})
	mustPut(t, c, "bi/seed", "v")
	big := strings.Repeat("x", maxRequest+1)
	unknown := LeaseID(0x7e57)

	for _, tc := range []struct {
		call
		want error
	}{
		{call: call{"Get empty key", "get", "", func(ctx context.Context, c *Client) error { _, err := c.Get(ctx, ""); return err }}, want: ErrInvalidArgument},
		{call: call{"Range empty key", "range", "", func(ctx context.Context, c *Client) error { _, err := c.Range(ctx, Key("")); return err }}, want: ErrInvalidArgument},
		{call: call{"Put empty key", "put", "", func(ctx context.Context, c *Client) error { _, err := c.Put(ctx, "", "v"); return err }}, want: ErrInvalidArgument},
		{call: call{"Delete empty key", "delete", "", func(ctx context.Context, c *Client) error { _, err := c.Delete(ctx, Key("")); return err }}, want: ErrInvalidArgument},
		{call: call{"Txn empty key", "txn", "", func(ctx context.Context, c *Client) error {
			_, err := c.Txn(ctx, Txn{Then: []Op{OpPut("bi/ok", "v"), OpPut("", "v")}})
			return err
		}}, want: ErrInvalidArgument},
		{call: call{"PutIfAbsent empty key", "put if absent", "", func(ctx context.Context, c *Client) error {
			_, err := c.PutIfAbsent(ctx, "", "v")
			return err
		}}, want: ErrInvalidArgument},
		{call: call{"Watch empty key", "watch", "", func(ctx context.Context, c *Client) error { return firstErr(c.Watch(ctx, Key(""))) }}, want: ErrInvalidArgument},
		{call: call{"Scan empty key", "scan", "", func(ctx context.Context, c *Client) error { return firstErr(c.Scan(ctx, Key(""))) }}, want: ErrInvalidArgument},
		{call: call{"Put key over the limit", "put", "bi/big", func(ctx context.Context, c *Client) error {
			_, err := c.Put(ctx, "bi/big"+big, "v")
			return err
		}}, want: ErrRequestTooLarge},
		{call: call{"Put value over the limit", "put", "bi/big", func(ctx context.Context, c *Client) error {
			_, err := c.Put(ctx, "bi/big", big)
			return err
		}}, want: ErrRequestTooLarge},
		{call: call{"Txn over the limit", "txn", "bi/t1", func(ctx context.Context, c *Client) error {
			_, err := c.Txn(ctx, Txn{Then: []Op{OpPut("bi/t1", "v"), OpPut("bi/t2", big)}})
			return err
		}}, want: ErrRequestTooLarge},
		{call: call{"Range inverted", "range", "bi/z", func(ctx context.Context, c *Client) error {
			_, err := c.Range(ctx, Between("bi/z", "bi/a"))
			return err
		}}, want: ErrInvalidArgument},
		{call: call{"Delete inverted", "delete", "bi/z", func(ctx context.Context, c *Client) error {
			_, err := c.Delete(ctx, Between("bi/z", "bi/a"))
			return err
		}}, want: ErrInvalidArgument},
		{call: call{"Watch inverted", "watch", "bi/z", func(ctx context.Context, c *Client) error {
			ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			err := firstErr(c.Watch(ctx, Between("bi/z", "bi/a")))
			if errors.Is(err, context.DeadlineExceeded) {
				return nil // the watch was accepted and waited for nothing
			}
			return err
		}}, want: ErrInvalidArgument},
		{call: call{"Grant zero TTL", "lease grant", "", func(ctx context.Context, c *Client) error { _, err := c.Grant(ctx, 0); return err }}, want: ErrInvalidArgument},
		{call: call{"Grant negative TTL", "lease grant", "", func(ctx context.Context, c *Client) error { _, err := c.Grant(ctx, -time.Second); return err }}, want: ErrInvalidArgument},
		{call: call{"PutWithTTL zero TTL", "put", "bi/ttl", func(ctx context.Context, c *Client) error {
			_, err := c.PutWithTTL(ctx, "bi/ttl", "v", 0)
			return err
		}}, want: ErrInvalidArgument},
		{call: call{"NewSession negative TTL", "lease grant", "", func(ctx context.Context, c *Client) error {
			_, err := c.NewSession(ctx, TTL(-time.Second))
			return err
		}}, want: ErrInvalidArgument},
		{call: call{"Put unknown lease", "put", "bi/l", func(ctx context.Context, c *Client) error {
			_, err := c.Put(ctx, "bi/l", "v", AttachLease(unknown))
			return err
		}}, want: ErrLeaseNotFound},
		{call: call{"Revoke unknown lease", "lease revoke", unknown.String(), func(ctx context.Context, c *Client) error {
			_, err := c.Revoke(ctx, unknown)
			return err
		}}, want: ErrLeaseNotFound},
		{call: call{"KeepAliveOnce unknown lease", "lease keep-alive", unknown.String(), func(ctx context.Context, c *Client) error {
			_, err := c.KeepAliveOnce(ctx, unknown)
			return err
		}}, want: ErrLeaseNotFound},
		{call: call{"KeepAlive unknown lease", "lease keep-alive", unknown.String(), func(ctx context.Context, c *Client) error {
			_, err := c.KeepAlive(ctx, unknown)
			return err
		}}, want: ErrLeaseNotFound},
		{call: call{"NewSession unknown lease", "lease keep-alive", unknown.String(), func(ctx context.Context, c *Client) error {
			_, err := c.NewSession(ctx, ExistingLease(unknown))
			return err
		}}, want: ErrLeaseNotFound},
		{call: call{"Status malformed endpoint", "endpoint status", "no-port", func(ctx context.Context, c *Client) error {
			_, err := c.Status(ctx, "no-port")
			return err
		}}, want: ErrInvalidArgument},
		{call: call{"Status wrong scheme", "endpoint status", "ftp://127.0.0.1:1", func(ctx context.Context, c *Client) error {
			_, err := c.Status(ctx, "ftp://127.0.0.1:1")
			return err
		}}, want: ErrInvalidArgument},
		{call: call{"Compact future revision", "compact", "", func(ctx context.Context, c *Client) error { _, err := c.Compact(ctx, 1<<40); return err }}, want: ErrFutureRevision},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := tc.do(ctx, c)
			checkErr(t, tc.call, err, tc.want)
		})
	}

	// Nothing of a refused request was written.
	res, err := c.Range(t.Context(), All(), KeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	if keys := keysOf(res.KVs); len(keys) != 1 || keys[0] != "bi/seed" {
		t.Fatalf("after the refused calls the keyspace holds %q, want only bi/seed", keys)
	}
}

// TestNewRejectsBadEndpoints: New names the endpoint it refuses, and wraps ErrConfig.
func TestNewRejectsBadEndpoints(t *testing.T) {
	t.Parallel()
	for _, ep := range []string{"", "no-port", "127.0.0.1:0", "127.0.0.1:99999", "ftp://127.0.0.1:2379", "http://127.0.0.1:2379/path", ":2379"} {
		_, err := New(Config{Endpoints: []string{ep}})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), fmt.Sprintf("%q", ep)) {
			t.Errorf("New with endpoint %q = %v, want ErrConfig naming it", ep, err)
		}
	}
	// A password written into an endpoint is named redacted, never echoed.
	_, err := New(Config{Endpoints: []string{"http://u:hunter2@127.0.0.1:2379"}})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `"http://u:xxxxx@127.0.0.1:2379"`) || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("New with a password in the endpoint = %v, want ErrConfig naming it redacted", err)
	}
}
