package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

// check perf and check datascale load the cluster with puts under a prefix of their own,
// report as etcdctl does, and delete their keys afterwards, also when interrupted.

func init() {
	register(&command{path: "check perf", use: "check perf [options]", short: "Check the performance of the etcd cluster",
		long:   "etcdctl's workloads write for 60 seconds; --duration shortens the run (etcdkit only).",
		define: withOptions[perfOpts]})
	register(&command{path: "check datascale", use: "check datascale [options]",
		short:  "Check the memory usage of holding data for different workloads on a given server endpoint.",
		long:   "If no endpoint is provided, localhost will be used. If multiple endpoints are provided, first endpoint will be used.",
		define: withOptions[datascaleOpts]})
}

// checkLoad is one workload: perf's puts per second or datascale's number of keys, and the
// number of concurrent writers.
type checkLoad struct{ limit, clients int }

// The workloads, as etcdctl's: s, m, l and xl (small, medium, large, xLarge).
var (
	perfLoads      = map[string]checkLoad{"s": {150, 50}, "m": {1000, 200}, "l": {8000, 500}, "xl": {15000, 1000}}
	datascaleLoads = map[string]checkLoad{"s": {10000, 50}, "m": {100000, 200}, "l": {1000000, 500}, "xl": {3000000, 1000}}
	loadNames      = map[string]string{"small": "s", "medium": "m", "large": "l", "xLarge": "xl"}
)

// Key and value sizes: perf writes 256-byte keys and 1 KiB values, datascale 512 and 512.
const (
	perfKeySize, perfValueSize           = 256, 1024
	datascaleKeySize, datascaleValueSize = 512, 512
)

// checkOpts are the flags both checks take.
type checkOpts struct {
	load, prefix            string
	autoCompact, autoDefrag bool
}

func (o *checkOpts) define(fs *pflag.FlagSet, prefix, what string) {
	fs.StringVar(&o.load, "load", "s", "The "+what+" check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)")
	fs.StringVar(&o.prefix, "prefix", prefix, "The prefix for writing the "+what+" check's keys.")
	fs.BoolVar(&o.autoCompact, "auto-compact", false, "Compact storage with last revision after test is finished.")
	fs.BoolVar(&o.autoDefrag, "auto-defrag", false, "Defragment storage after test is finished.")
}

// workload looks the --load name up.
func (o *checkOpts) workload(loads map[string]checkLoad) (checkLoad, error) {
	name := o.load
	if short, ok := loadNames[name]; ok {
		name = short
	}
	l, ok := loads[name]
	if !ok {
		return checkLoad{}, fail(exitBadFeature, "unknown load option %v", o.load)
	}
	return l, nil
}

// prepare looks the --load workload up in loads and connects, and fails unless the prefix
// holds no key (hint words the advice, as each of etcdctl's checks does); the caller closes
// the client.
func (o *checkOpts) prepare(a *app, loads map[string]checkLoad, hint string) (checkLoad, *etcd.Client, error) {
	load, err := o.workload(loads)
	if err != nil {
		return load, nil, err
	}
	c, err := a.client()
	if err != nil {
		return load, nil, err
	}
	ctx, cancel := a.commandCtx()
	defer cancel()
	r, err := c.Range(ctx, etcd.Prefix(o.prefix), etcd.Limit(1), etcd.KeysOnly())
	if err == nil && len(r.KVs) > 0 {
		err = fail(exitInvalidInput, "prefix %q has keys. Delete with "+hint+" first", o.prefix, o.prefix)
	}
	if err != nil {
		c.Close()
		return load, nil, err
	}
	return load, c, nil
}

// cleanup deletes the check's keys, then compacts and defragments as asked. A failed delete
// is reported and leaves the rest undone.
func (o *checkOpts) cleanup(a *app, c *etcd.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	del, err := c.Delete(ctx, etcd.Prefix(o.prefix))
	if err != nil {
		fmt.Fprintf(a.stdout, "FAIL: Cleanup failed during key deletion: ERROR(%s)\n", errText(err))
		return nil
	}
	return o.maintain(ctx, a, c, del.Header.Revision)
}

// maintain compacts at rev and defragments every endpoint, as --auto-compact and
// --auto-defrag ask; a failure ends the command, as in etcdctl.
func (o *checkOpts) maintain(ctx context.Context, a *app, c *etcd.Client, rev int64) error {
	if o.autoCompact {
		fmt.Fprintf(a.stdout, "Compacting with revision %d\n", rev)
		if _, err := c.Compact(ctx, rev); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Compacted with revision %d\n", rev)
	}
	if o.autoDefrag {
		for _, ep := range a.endpoints() {
			fmt.Fprintf(a.stdout, "Defragmenting %q\n", ep)
			if _, err := c.Defragment(ctx, ep); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Defragmented %q\n", ep)
		}
	}
	return nil
}

// perfOpts are check perf's flags.
type perfOpts struct {
	checkOpts
	duration time.Duration
}

func (o *perfOpts) flags(fs *pflag.FlagSet) {
	o.define(fs, "/etcdctl-check-perf/", "performance")
	fs.DurationVar(&o.duration, "duration", time.Minute, "how long the check writes (etcdkit only; etcdctl always writes for 60s)")
}

// run writes at the workload's rate for --duration, then judges throughput (above 90% of
// the rate), the slowest put (at most 500 ms) and the spread (standard deviation at most
// 100 ms), each on a PASS or FAIL line, and a last PASS or FAIL.
func (o *perfOpts) run(a *app, _ []string) error {
	load, c, err := o.prepare(a, perfLoads, "'etcdkit del --prefix %s'")
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(a.ctx, o.duration)
	defer cancel()
	secs := int(math.Ceil(o.duration.Seconds()))
	bar := startBar(a.stderr, secs)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for range secs {
			select {
			case <-t.C:
				bar.add(1)
			case <-ctx.Done():
				return
			}
		}
	}()
	keys := make(chan string, load.clients)
	go func() {
		defer close(keys)
		t := time.NewTicker(time.Second / time.Duration(load.limit))
		defer t.Stop()
		for {
			select {
			case keys <- o.prefix + randomKey(perfKeySize):
			case <-ctx.Done():
				return
			}
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	st := putAll(c, load.clients, keys, strings.Repeat("\x00", perfValueSize), nil)
	if a.ctx.Err() == nil {
		bar.n.Store(int64(secs)) // ran its full time: the last tick may not have come
	}
	bar.finish()
	if err := o.cleanup(a, c); err != nil {
		return err
	}

	ok := st.reportErrors(a)
	if st.rps()/float64(load.limit) <= 0.9 {
		fmt.Fprintf(a.stdout, "FAIL: Throughput too low: %d writes/s\n", int(st.rps())+1)
		ok = false
	} else {
		fmt.Fprintf(a.stdout, "PASS: Throughput is %d writes/s\n", int(st.rps())+1)
	}
	if slowest := st.slowest(); slowest > 0.5 {
		fmt.Fprintf(a.stdout, "Slowest request took too long: %fs\n", slowest)
		ok = false
	} else {
		fmt.Fprintf(a.stdout, "PASS: Slowest request took %fs\n", slowest)
	}
	if sd := st.stddev(); sd > 0.1 {
		fmt.Fprintf(a.stdout, "Stddev too high: %fs\n", sd)
		ok = false
	} else {
		fmt.Fprintf(a.stdout, "PASS: Stddev is %fs\n", sd)
	}
	if !ok {
		fmt.Fprintln(a.stdout, "FAIL")
		return &exitErr{code: exitError}
	}
	fmt.Fprintln(a.stdout, "PASS")
	return nil
}

// datascaleOpts are check datascale's flags.
type datascaleOpts struct{ checkOpts }

func (o *datascaleOpts) flags(fs *pflag.FlagSet) {
	o.define(fs, "/etcdctl-check-datascale/", "datascale")
}

// run writes the workload's keys and reports how much the first endpoint's resident memory
// grew meanwhile, read from its /metrics.
func (o *datascaleOpts) run(a *app, _ []string) error {
	load, c, err := o.prepare(a, datascaleLoads, "etcdkit del --prefix %s")
	if err != nil {
		return err
	}
	defer c.Close()
	before := a.residentMemory()
	if before == 0 {
		fmt.Fprintln(a.stdout, "FAIL: Could not read process_resident_memory_bytes before the put operations.")
		return &exitErr{code: exitError}
	}
	fmt.Fprintf(a.stdout, "Start data scale check for work load [%v key-value pairs, %v bytes per key-value, %v concurrent clients].\n",
		load.limit, datascaleKeySize+datascaleValueSize, load.clients)
	a.stdout.Flush()
	bar := startBar(a.stderr, load.limit)
	keys := make(chan string, load.clients)
	go func() {
		defer close(keys)
		for range load.limit {
			select {
			case keys <- o.prefix + randomKey(datascaleKeySize):
			case <-a.ctx.Done():
				return
			}
		}
	}()
	st := putAll(c, load.clients, keys, strings.Repeat("\x00", datascaleValueSize), func() { bar.add(1) })
	bar.finish()
	after := a.residentMemory()
	if after == 0 {
		fmt.Fprintln(a.stdout, "FAIL: Could not read process_resident_memory_bytes after the put operations.")
		return &exitErr{code: exitError}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	del, err := c.Delete(ctx, etcd.Prefix(o.prefix))
	if err != nil {
		return err
	}
	if err := o.maintain(ctx, a, c, del.Header.Revision); err != nil {
		return err
	}
	if !st.reportErrors(a) {
		return &exitErr{code: exitError}
	}
	fmt.Fprintf(a.stdout, "PASS: Approximate system memory used : %s MB.\n", strconv.FormatFloat((after-before)/(1<<20), 'f', 2, 64))
	return nil
}

// residentMemory reads process_resident_memory_bytes from the first endpoint's /metrics,
// over TLS when the client uses it; zero, with the reason printed, when it cannot.
func (a *app) residentMemory() float64 {
	const metric = "process_resident_memory_bytes"
	ep := a.endpoints()[0]
	client := http.DefaultClient
	tf := tlsFiles{a.g.cacert, a.g.cert, a.g.key, a.g.skipVerify, a.g.insecure}
	tc, err := tlsConfig(tf, []string{ep})
	if err != nil {
		fmt.Fprintf(a.stdout, "client certificate error: %v\n", errText(err))
		return 0
	}
	ep = strings.TrimPrefix(strings.TrimPrefix(ep, "https://"), "http://")
	url := "http://" + ep + "/metrics"
	if tc != nil {
		url = "https://" + ep + "/metrics"
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	ctx, cancel := a.commandCtx()
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = client.Do(req); err == nil {
			var body []byte
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(body), "\n") {
				if v, ok := strings.CutPrefix(line, metric+" "); ok {
					f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
					if err != nil {
						fmt.Fprintf(a.stdout, "parse error: %v\n", err)
						return 0
					}
					return f
				}
			}
			if err == nil {
				fmt.Fprintf(a.stdout, "could not find: %v\n", metric)
				return 0
			}
		}
	}
	fmt.Fprintf(a.stdout, "fetch error: %v\n", err)
	return 0
}

// randomKey is a key of n bytes whose first eight are random.
func randomKey(n int) string {
	b := make([]byte, n)
	rand.Read(b[:8])
	return string(b)
}

// loadStats are the latencies, in seconds, and errors of a check's puts.
type loadStats struct {
	took time.Duration
	lats []float64
	errs map[string]int
}

// putAll puts value at every key from keys with n concurrent writers until keys closes,
// calling each (if not nil) after every put.
func putAll(c *etcd.Client, n int, keys <-chan string, value string, each func()) loadStats {
	st := loadStats{errs: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				t := time.Now()
				_, err := c.Put(context.Background(), k, value)
				lat := time.Since(t).Seconds()
				mu.Lock()
				if err != nil {
					st.errs[errText(err)]++
				} else {
					st.lats = append(st.lats, lat)
				}
				mu.Unlock()
				if each != nil {
					each()
				}
			}
		}()
	}
	wg.Wait()
	st.took = time.Since(start)
	return st
}

// rps is the successful puts per second.
func (s loadStats) rps() float64 { return float64(len(s.lats)) / s.took.Seconds() }

// slowest is the longest latency.
func (s loadStats) slowest() float64 {
	if len(s.lats) == 0 {
		return 0
	}
	return slices.Max(s.lats)
}

// stddev is the standard deviation of the latencies.
func (s loadStats) stddev() float64 {
	if len(s.lats) == 0 {
		return 0
	}
	var sum float64
	for _, l := range s.lats {
		sum += l
	}
	mean := sum / float64(len(s.lats))
	var sq float64
	for _, l := range s.lats {
		sq += (l - mean) * (l - mean)
	}
	return math.Sqrt(sq / float64(len(s.lats)))
}

// reportErrors prints the failed puts by error, as etcdctl does, and reports whether none
// failed.
func (s loadStats) reportErrors(a *app) bool {
	if len(s.errs) == 0 {
		return true
	}
	fmt.Fprintln(a.stdout, "FAIL: too many errors")
	for e, n := range s.errs {
		fmt.Fprintf(a.stdout, "FAIL: ERROR(%s) -> %d\n", e, n)
	}
	return false
}

// progressBar draws "n / total [--->___] p%" on stderr, redrawn in place five times a
// second, as etcdctl's progress bar does.
type progressBar struct {
	w     io.Writer
	total int
	n     atomic.Int64
	done  chan struct{}
	wg    sync.WaitGroup
}

func startBar(w io.Writer, total int) *progressBar {
	b := &progressBar{w: w, total: max(total, 1), done: make(chan struct{})}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			b.draw()
			select {
			case <-t.C:
			case <-b.done:
				return
			}
		}
	}()
	return b
}

func (b *progressBar) add(n int) { b.n.Add(int64(n)) }

func (b *progressBar) draw() {
	n := min(int(b.n.Load()), b.total)
	const width = 50
	filled := width * n / b.total
	bar := strings.Repeat("-", filled) + strings.Repeat("_", width-filled)
	if filled < width {
		bar = strings.Repeat("-", filled) + ">" + strings.Repeat("_", width-filled-1)
	}
	fmt.Fprintf(b.w, "\r%d / %d [%s] %.2f%%", n, b.total, bar, 100*float64(n)/float64(b.total))
}

// finish draws the bar a last time and ends its line.
func (b *progressBar) finish() {
	close(b.done)
	b.wg.Wait()
	b.draw()
	fmt.Fprintln(b.w)
}
