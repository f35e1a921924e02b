package harness

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The workloads.
const (
	Put       = "put"       // Put of one of Keys keys, Conc callers sharing the client
	Get       = "get"       // linearizable Get of one of Keys existing keys
	Txn       = "txn"       // the compare-and-swap transaction of Client.CAS
	Watch     = "watch"     // delivery of N events written by another process
	Lock      = "lock"      // N lock cycles over Conc contenders
	KeepAlive = "keepalive" // N leases kept alive for Duration
)

// Keys is the number of distinct keys the KV workloads cycle through.
const Keys = 1000

// Config is one run of one workload.
type Config struct {
	Workload string
	// Conc is the number of concurrent callers (KV) or contenders (lock).
	Conc int
	// N is the number of operations, events, lock cycles or leases measured.
	N int
	// ValueSize is the size of every value written, in bytes.
	ValueSize int
	// Prefix makes the run's keys its own.
	Prefix string
	// Duration is how long the keepalive workload runs.
	Duration time.Duration
	// TTL is the keepalive workload's lease TTL.
	TTL time.Duration
	// Timeout bounds the watch workload's wait for its events.
	Timeout time.Duration
}

// Result is what one run measured. Ops counts the unit of the workload: operations, events,
// lock cycles, or lease-seconds for keepalive.
type Result struct {
	Client   string  `json:"client"`
	Workload string  `json:"workload"`
	Conc     int     `json:"conc"`
	Ops      int     `json:"ops"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"rate"`             // Ops per second
	P50      float64 `json:"p50_ms"`           // latency; 0 where it does not apply
	P99      float64 `json:"p99_ms"`           //
	CPU      float64 `json:"cpu_us_op"`        // the client process's user+system CPU per op
	Allocs   float64 `json:"allocs_op"`        // heap allocations per op
	Bytes    float64 `json:"bytes_op"`         // heap bytes allocated per op
	RSS      float64 `json:"peak_rss_mb"`      // the process's peak resident set
	Mem      float64 `json:"mem_kb,omitempty"` // watchers: resident KiB added per watcher
	Errors   int     `json:"errors"`           // failed calls
	Faults   int     `json:"faults"`           // missing or duplicate events, lock overlaps, lost leases
	Note     string  `json:"note,omitempty"`
}

// Run runs one workload on c. For Watch and Watchers, ready(n) is called once the watchers
// are established: n events must then be written (see WriteEvents); other workloads ignore
// it. Connect is not run here but by RunConnect, which makes clients of its own.
func Run(ctx context.Context, c Client, cfg Config, ready func(n int)) (Result, error) {
	if cfg.Conc < 1 {
		cfg.Conc = 1
	}
	if cfg.ValueSize < 8 {
		cfg.ValueSize = 8
	}
	r := Result{Workload: cfg.Workload, Conc: cfg.Conc}
	var err error
	switch cfg.Workload {
	case Put, Get, Txn:
		err = runKV(ctx, c, cfg, &r)
	case Watch:
		err = runWatch(ctx, c, cfg, &r, ready)
	case Lock:
		err = runLock(ctx, c, cfg, &r)
	case KeepAlive:
		err = runKeepAlive(ctx, c, cfg, &r)
	case List, ListPaged, ListSingle:
		err = runList(ctx, c, cfg, &r)
	case Watchers:
		err = runWatchers(ctx, c, cfg, &r, ready)
	default:
		err = fmt.Errorf("unknown workload %q", cfg.Workload)
	}
	return r, err
}

// probe is a snapshot of the process's clock, CPU and allocation counters.
type probe struct {
	at     time.Time
	cpu    time.Duration
	allocs uint64
	bytes  uint64
}

func snapshot() probe {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return probe{
		at:     time.Now(),
		cpu:    CPUTime(),
		allocs: ms.Mallocs,
		bytes:  ms.TotalAlloc,
	}
}

// CPUTime is the process's user and system CPU time so far (getrusage).
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// finish fills r's per-op figures from the counters since p, for ops operations.
func (p probe) finish(r *Result, ops int) {
	q := snapshot()
	r.Ops = ops
	r.Seconds = q.at.Sub(p.at).Seconds()
	if ops == 0 {
		return
	}
	r.Rate = float64(ops) / r.Seconds
	r.CPU = float64((q.cpu - p.cpu).Microseconds()) / float64(ops)
	r.Allocs = float64(q.allocs-p.allocs) / float64(ops)
	r.Bytes = float64(q.bytes-p.bytes) / float64(ops)
	r.RSS = peakResidentKB() / 1024
}

// peakResidentKB is the process's peak resident set in KiB: /proc's VmHWM, which starts
// afresh at exec, where getrusage's maxrss also counts the memory of the process that forked
// this one (the driver); getrusage where /proc is missing.
func peakResidentKB() float64 {
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				if kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64); err == nil {
					return kb
				}
			}
		}
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) // KiB on Linux
}

// percentiles sets r's p50 and p99 from the latencies.
func percentiles(r *Result, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		i := int(q * float64(len(lat)-1))
		return float64(lat[i]) / float64(time.Millisecond)
	}
	r.P50, r.P99 = at(0.50), at(0.99)
}

// errorCount counts failed calls and keeps the first error for the report.
type errorCount struct {
	n     atomic.Int64
	once  sync.Once
	first error
}

func (e *errorCount) add(err error) {
	e.n.Add(1)
	e.once.Do(func() { e.first = err })
}

func (e *errorCount) fill(r *Result) {
	r.Errors = int(e.n.Load())
	if e.first != nil {
		r.Note = e.first.Error()
	}
}

// parallel runs op(i) for i in [0, n) on conc goroutines, recording each latency in lat
// when it is not nil.
func parallel(n, conc int, lat []time.Duration, errs *errorCount, op func(i int) error) {
	workers(n, conc, errs, func(_, i int) error {
		t0 := time.Now()
		err := op(i)
		if lat != nil {
			lat[i] = time.Since(t0)
		}
		return err
	})
}

// workers runs op(w, i) for i in [0, n) on conc goroutines numbered w.
func workers(n, conc int, errs *errorCount, op func(w, i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := op(w, i); err != nil {
					errs.add(err)
				}
			}
		})
	}
	wg.Wait()
}

func runKV(ctx context.Context, c Client, cfg Config, r *Result) error {
	keys := make([]string, Keys)
	for i := range keys {
		keys[i] = fmt.Sprintf("%skv/%04d", cfg.Prefix, i)
	}
	value := strings.Repeat("v", cfg.ValueSize)
	var op func(i int) error
	switch cfg.Workload {
	case Put:
		op = func(i int) error { return c.Put(ctx, keys[i%Keys], value) }
	case Get:
		op = func(i int) error { return c.Get(ctx, keys[i%Keys]) }
	case Txn:
		op = func(i int) error { return c.CAS(ctx, keys[i%Keys], value) }
	}
	// Warm up: write every key (Get and Txn need them), then a tenth of the run, unmeasured.
	var errs errorCount
	parallel(Keys, cfg.Conc, nil, &errs, func(i int) error { return c.Put(ctx, keys[i], value) })
	parallel(KVWarmup(cfg.N), cfg.Conc, nil, &errs, op)
	if errs.n.Load() > 0 {
		return fmt.Errorf("warm-up: %d errors, the first: %w", errs.n.Load(), errs.first)
	}

	lat := make([]time.Duration, cfg.N)
	p := snapshot()
	parallel(cfg.N, cfg.Conc, lat, &errs, op)
	p.finish(r, cfg.N)
	percentiles(r, lat)
	errs.fill(r)
	return nil
}

// KVWarmup is how many unmeasured operations a KV run of n makes before the n it measures
// (after a put of each of its keys).
func KVWarmup(n int) int { return min(n/10, 2000) }

// EventKey is the key of event i of a watch run under prefix.
func EventKey(prefix string, i int) string { return fmt.Sprintf("%sw/%07d", prefix, i) }

// WriteEvents writes the n events a watch run waits for, with conc concurrent puts: event i
// to EventKey(prefix, i%keys). Each value starts with its write time, from which the watcher
// measures delivery latency.
func WriteEvents(ctx context.Context, put func(ctx context.Context, key, value string) error, prefix string, n, keys, size, conc int) error {
	pad := strings.Repeat("e", max(size-8, 0))
	var errs errorCount
	parallel(n, conc, nil, &errs, func(i int) error {
		var ts [8]byte
		binary.BigEndian.PutUint64(ts[:], uint64(time.Now().UnixNano()))
		return put(ctx, EventKey(prefix, i%keys), string(ts[:])+pad)
	})
	if errs.first != nil {
		return fmt.Errorf("writing events: %d failed, the first: %w", errs.n.Load(), errs.first)
	}
	return nil
}

// eventIndex parses the number at the end of an event key; -1 when it is not one.
func eventIndex(key []byte, prefix string) int {
	head := prefix + "w/"
	if len(key) != len(head)+7 || string(key[:len(head)]) != head {
		return -1
	}
	n := 0
	for _, b := range key[len(head):] {
		if b < '0' || b > '9' {
			return -1
		}
		n = n*10 + int(b-'0')
	}
	return n
}

// watchTimeout bounds a watch workload's wait for its events: cfg.Timeout, 2 minutes when
// zero.
func (cfg Config) watchTimeout() time.Duration {
	if cfg.Timeout == 0 {
		return 2 * time.Minute
	}
	return cfg.Timeout
}

func runWatch(ctx context.Context, c Client, cfg Config, r *Result, ready func(n int)) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.watchTimeout())
	defer cancel()
	rev, err := c.Revision(ctx)
	if err != nil {
		return err
	}
	// The sentinel's event proves the watch is established and caught up.
	sentinel := cfg.Prefix + "ready"
	putErr := make(chan error, 1)
	go func() { putErr <- c.Put(ctx, sentinel, "1") }()

	seen := make([]bool, cfg.N)
	lat := make([]time.Duration, 0, cfg.N)
	var p probe
	var started bool
	distinct, dups, stray := 0, 0, 0
	werr := c.Watch(ctx, cfg.Prefix, rev+1, func(key, value []byte) bool {
		if !started {
			if string(key) == sentinel {
				started = true
				p = snapshot()
				if ready != nil {
					ready(cfg.N)
				}
			}
			return true
		}
		i := eventIndex(key, cfg.Prefix)
		switch {
		case i < 0 || i >= cfg.N:
			stray++
		case seen[i]:
			dups++
		default:
			seen[i] = true
			distinct++
			if len(value) >= 8 {
				lat = append(lat, time.Duration(time.Now().UnixNano()-int64(binary.BigEndian.Uint64(value))))
			}
		}
		return distinct < cfg.N
	})
	if err := <-putErr; err != nil {
		return fmt.Errorf("sentinel: %w", err)
	}
	if !started {
		return fmt.Errorf("watch never started: %v", werr)
	}
	p.finish(r, cfg.N)
	percentiles(r, lat)
	r.Faults = cfg.N - distinct + dups + stray
	if r.Faults > 0 {
		r.Note = fmt.Sprintf("%d missing, %d duplicate, %d stray", cfg.N-distinct, dups, stray)
	}
	if werr != nil {
		r.Errors = 1
		r.Note = strings.TrimPrefix(r.Note+"; "+werr.Error(), "; ")
	}
	return nil
}

func runLock(ctx context.Context, c Client, cfg Config, r *Result) error {
	name := cfg.Prefix + "lock"
	lockers := make([]Locker, cfg.Conc)
	defer func() {
		for _, l := range lockers {
			if l != nil {
				l.Close()
			}
		}
	}()
	for i := range lockers {
		l, err := c.NewLocker(ctx, name)
		if err != nil {
			return fmt.Errorf("contender %d: %w", i, err)
		}
		lockers[i] = l
	}
	var held atomic.Int32
	var overlaps atomic.Int64
	var errs errorCount
	cycle := func(lat []time.Duration) func(w, i int) error {
		return func(w, i int) error {
			l := lockers[w]
			t0 := time.Now()
			if err := l.Lock(ctx); err != nil {
				return err
			}
			if lat != nil {
				lat[i] = time.Since(t0)
			}
			if held.Add(1) != 1 {
				overlaps.Add(1)
			}
			runtime.Gosched() // give an overlapping holder the chance to show
			held.Add(-1)
			return l.Unlock(ctx)
		}
	}
	workers(cfg.Conc, cfg.Conc, &errs, cycle(nil)) // warm up: about once per contender
	if errs.first != nil {
		return fmt.Errorf("warm-up: %w", errs.first)
	}
	lat := make([]time.Duration, cfg.N)
	p := snapshot()
	workers(cfg.N, cfg.Conc, &errs, cycle(lat))
	p.finish(r, cfg.N)
	percentiles(r, lat)
	errs.fill(r)
	r.Faults = int(overlaps.Load())
	if r.Faults > 0 {
		r.Note = fmt.Sprintf("%d overlapping holds", r.Faults)
	}
	return nil
}

func runKeepAlive(ctx context.Context, c Client, cfg Config, r *Result) error {
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = 5 * time.Second
	}
	ids := make([]int64, cfg.N)
	var errs errorCount
	parallel(cfg.N, 16, nil, &errs, func(i int) (err error) {
		ids[i], err = c.Grant(ctx, ttl)
		return err
	})
	if errs.first != nil {
		return fmt.Errorf("grant: %w", errs.first)
	}
	kctx, stop := context.WithCancel(ctx)
	defer stop()
	parallel(cfg.N, 16, nil, &errs, func(i int) error { return c.KeepAlive(kctx, ids[i]) })
	if errs.first != nil {
		return fmt.Errorf("keepalive: %w", errs.first)
	}
	p := snapshot()
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
		return ctx.Err()
	}
	secs := cfg.Duration.Seconds()
	p.finish(r, int(float64(cfg.N)*secs))
	r.Rate = float64(cfg.N) // leases kept alive, not a rate
	var lost atomic.Int64
	parallel(cfg.N, 16, nil, &errs, func(i int) error {
		left, err := c.TTL(ctx, ids[i])
		if err == nil && left <= 0 {
			lost.Add(1)
		}
		return err
	})
	errs.fill(r)
	r.Faults = int(lost.Load())
	if r.Faults > 0 {
		r.Note = fmt.Sprintf("%d leases lost", r.Faults)
	}
	// Revoke the leases rather than leave them to expire: etcd revokes expired leases at
	// about 1,000 a second, which would load the server during the cases that come next.
	// Best effort: a lease lost is counted above, and its revoke fails.
	stop()
	var cleanup errorCount
	parallel(cfg.N, 16, nil, &cleanup, func(i int) error { return c.Revoke(ctx, ids[i]) })
	return nil
}
