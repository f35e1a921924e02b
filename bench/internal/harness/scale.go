package harness

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The scale workloads: what a large deployment asks of one client.
const (
	List       = "list"        // read N keys of ValueSize under Prefix over a stream (Scan for etcdkit)
	ListPaged  = "list-paged"  // the same keys in 1,000-key Range pages at one revision
	ListSingle = "list-single" // the same keys in one response
	Watchers   = "watchers"    // Conc watchers on distinct keys, N events spread over them
	Connect    = "connect"     // time from New to the first answered call, with Conc endpoints
)

// ListKey is key i of the list workload's data under prefix.
func ListKey(prefix string, i int) string { return fmt.Sprintf("%s%0*d", prefix, listDigits, i) }

// listDigits is the width of a list key's number.
const listDigits = 7

// isListKey reports whether key is ListKey(prefix, i), without allocating: the check runs
// once per key read, inside the measured part, where a formatted string per key cost three
// allocations and, in CPU profiles of a streamed read, about a fifth of the client's CPU.
func isListKey(key []byte, prefix string, i int) bool {
	if len(key) != len(prefix)+listDigits || string(key[:len(prefix)]) != prefix {
		return false
	}
	for j := len(key) - 1; j >= len(prefix); j-- {
		if key[j] != byte('0'+i%10) {
			return false
		}
		i /= 10
	}
	return i == 0
}

// runList reads the cfg.N keys the driver wrote under cfg.Prefix (see ListKey) and checks
// that each came once, in order, with its value. Ops are keys.
func runList(ctx context.Context, c Client, cfg Config, r *Result) error {
	next, faults := 0, 0
	p := snapshot()
	n, err := c.List(ctx, cfg.Prefix, cfg.Workload, func(key, value []byte) {
		if !isListKey(key, cfg.Prefix, next) || len(value) != cfg.ValueSize {
			faults++
		}
		next++
	})
	p.finish(r, n)
	if err != nil {
		r.Errors = 1
		r.Note = err.Error()
	}
	if n != cfg.N {
		faults += abs(cfg.N - n)
	}
	r.Faults = faults
	if faults > 0 {
		r.Note = strings.TrimPrefix(r.Note+fmt.Sprintf("; read %d keys of %d, %d out of order or wrong", n, cfg.N, faults), "; ")
	}
	return nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// residentKB is the process's resident set now, in KiB (0 where /proc is missing).
func residentKB() float64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize()) / 1024
}

// runWatchers starts cfg.Conc watchers, one per key, and then asks the driver twice for events
// spread over those keys (see WriteEvents): first one per watcher, which proves every watcher
// established and is not measured, then cfg.N, measured. Ops are delivered events; Mem is the
// resident memory the watchers added, per watcher, once established.
func runWatchers(ctx context.Context, c Client, cfg Config, r *Result, ready func(n int)) error {
	timeout := cfg.watchTimeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := cfg.Conc
	keys := make([]string, w)
	for i := range keys {
		keys[i] = EventKey(cfg.Prefix, i)
	}
	rev, err := c.Revision(ctx)
	if err != nil {
		return err
	}
	rss0 := residentKB()
	var (
		mu       sync.Mutex
		got      = make([]int, w) // events per watcher
		total    int
		want     int
		lat      []time.Duration
		measured bool
		done     = make(chan struct{})
	)
	stop, err := c.WatchKeys(ctx, keys, rev+1, func(i int, value []byte) {
		mu.Lock()
		defer mu.Unlock()
		got[i]++
		total++
		if measured && len(value) >= 8 {
			lat = append(lat, time.Duration(time.Now().UnixNano()-int64(binary.BigEndian.Uint64(value))))
		}
		if total == want {
			close(done)
		}
	})
	if err != nil {
		return err
	}
	defer func() {
		// A client whose watchers do not end when asked must not hold the run up: the result
		// says so, and the process exits after printing it.
		ended := make(chan struct{})
		go func() { stop(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			r.Errors++
			r.Note = strings.TrimPrefix(r.Note+"; the watchers did not end within 10s of being canceled", "; ")
		}
	}()
	wait := func(n int) error {
		mu.Lock()
		want, done = total+n, make(chan struct{})
		d := done
		mu.Unlock()
		ready(n)
		select {
		case <-d:
			return nil
		case <-ctx.Done():
			mu.Lock()
			defer mu.Unlock()
			return fmt.Errorf("%d of %d events after %v", total-(want-n), n, timeout)
		}
	}
	// faults counts the watchers that did not see exactly want(i) events.
	faults := func(want func(i int) int) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for i, g := range got {
			if g != want(i) {
				n++
			}
		}
		return n
	}
	if err := wait(w); err != nil {
		r.Errors, r.Note = 1, "warm-up round: "+err.Error()
		r.Faults = faults(func(int) int { return 1 })
		return nil
	}
	r.Mem = (residentKB() - rss0) / float64(w)
	mu.Lock()
	measured = true
	mu.Unlock()
	p := snapshot()
	werr := wait(cfg.N)
	p.finish(r, cfg.N)
	// Each watcher must see exactly its share: one warm-up event, then the measured ones.
	r.Faults = faults(func(i int) int { return 1 + countKeys(cfg.N, w, i) })
	mu.Lock()
	percentiles(r, lat)
	mu.Unlock()
	if werr != nil {
		r.Errors = 1
		r.Note = werr.Error()
	}
	return nil
}

// countKeys is how many of n events spread round-robin over w keys go to key i.
func countKeys(n, w, i int) int {
	c := n / w
	if i < n%w {
		c++
	}
	return c
}

// RunConnect measures cfg.N times (after two unmeasured) how long a new client takes from New
// to its first answered call, over endpoints; the client is closed after each. Ops are
// connections; latency is New to the answer.
func RunConnect(ctx context.Context, newClient NewFunc, endpoints []string, cfg Config) (Result, error) {
	r := Result{Workload: Connect, Conc: len(endpoints)}
	once := func() (time.Duration, error) {
		t0 := time.Now()
		c, err := newClient(endpoints, 0)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		if _, err := c.Revision(ctx); err != nil {
			return 0, err
		}
		return time.Since(t0), nil
	}
	for range 2 {
		if _, err := once(); err != nil {
			return r, fmt.Errorf("warm-up: %w", err)
		}
	}
	var errs errorCount
	lat := make([]time.Duration, 0, cfg.N)
	p := snapshot()
	for range cfg.N {
		d, err := once()
		if err != nil {
			errs.add(err)
			continue
		}
		lat = append(lat, d)
	}
	p.finish(&r, cfg.N)
	percentiles(&r, lat)
	errs.fill(&r)
	return r, nil
}
