// Package faults is etcdkit's fault-injection suite: three-member etcd clusters on loopback,
// a fault-injecting TCP proxy in front of each member, and process control (SIGKILL,
// SIGSTOP/SIGCONT, restart), driven against the etcd package. Each scenario logs one row
// (operations, faults injected, lost, duplicated, ambiguous, recovery time) that
// scripts/faults.sh gathers into a table.
//
// `go test ./tests/faults` runs the short version (about a minute, part of `make test`);
// ETCDKIT_FAULTS=full (scripts/faults.sh, `make test-faults`) runs the full one.
package faults

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// fullEnv, set to "full", selects the full suite.
const fullEnv = "ETCDKIT_FAULTS"

// workerEnv, when set, makes the test binary run as a worker process (see lock_test.go)
// instead of running tests.
const workerEnv = "ETCDKIT_FAULTS_WORKER"

func TestMain(m *testing.M) {
	if role := os.Getenv(workerEnv); role != "" {
		os.Exit(runWorker(role))
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// full reports whether the full suite was asked for.
func full() bool { return os.Getenv(fullEnv) == "full" }

// pick returns short in the short suite and long in the full one.
func pick[T any](short, long T) T {
	if full() {
		return long
	}
	return short
}

// row is one scenario's line of the summary table.
type row struct {
	scenario  string
	ops       int64 // operations attempted (or events checked)
	faults    int   // faults injected
	lost      int64 // acknowledged operations missing afterwards
	dup       int64 // operations applied or delivered twice (or overlapping, or out of order)
	ambiguous int64 // operations whose outcome the client could not know
	recovery  time.Duration
	note      string
}

// log prints the row in the form scripts/faults.sh collects:
// FAULTROW|scenario|ops|faults|lost|dup|ambiguous|recovery|note.
func (r row) log(t *testing.T) {
	t.Helper()
	t.Logf("FAULTROW|%s|%d|%d|%d|%d|%d|%s|%s", r.scenario, r.ops, r.faults, r.lost, r.dup, r.ambiguous,
		r.recovery.Round(time.Millisecond), r.note)
}

// fast is the client configuration of the suite: failures are noticed within seconds.
var fast = etcd.Config{
	DialTimeout:      time.Second,
	KeepAliveTime:    5 * time.Second,
	KeepAliveTimeout: time.Second,
	ReadHedgeDelay:   time.Second,
}

// startCluster starts the suite's cluster: three members, each behind a proxy.
func startCluster(t *testing.T, args ...string) *etcdtest.Cluster {
	t.Helper()
	return etcdtest.StartCluster(t, etcdtest.Options{Size: 3, Proxy: true, Args: args})
}

// clients numbers the clients newClient makes, for their logs.
var clients atomic.Int64

// newClient connects to endpoints (cfg's other fields as given) and closes the client when
// the test ends. Without a logger in cfg, the client's last log lines are shown if the test
// fails (see logTo).
func newClient(t *testing.T, cfg etcd.Config, endpoints ...string) *etcd.Client {
	t.Helper()
	cfg.Endpoints = endpoints
	if cfg.Logger == nil {
		cfg.Logger = logTo(t, fmt.Sprint(clients.Add(1)))
	}
	c, err := etcd.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// waitUntil polls cond every 10 ms until it holds, returning how long that took, or fails
// the test after limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// lockedBuffer is a strings.Builder safe for concurrent writers (a slog handler's output).
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
