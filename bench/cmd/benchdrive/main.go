// Command benchdrive runs the benchmark (scripts/bench.sh, `make bench`): it measures the
// footprint of a small program per client, starts its own etcd, runs every workload with
// the three runner programs in alternation, and writes the Markdown report, the chart and
// the raw figures.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
	"github.com/etcdkit/etcdkit/bench/internal/rawclient"
	"github.com/etcdkit/etcdkit/bench/internal/report"
	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

type options struct {
	bin, out, footDir  string
	gen, root, release string // the footprint's etcdkit-gen binary, repository root and etcd release
	reps               int
	quick, pin, cold   bool
	note, command      string
	only               string
	profile            string // directory for the runners' CPU profiles; empty: none
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "directory holding bench-etcdkit, bench-clientv3 and bench-raw")
	flag.StringVar(&o.out, "out", "bench", "directory to write results.md, results.svg and results.json to")
	flag.StringVar(&o.footDir, "footprint", "bench/footprint", "directory of the footprint programs (empty: skip)")
	flag.StringVar(&o.gen, "gen", "", "the etcdkit-gen binary that vendors the kit for the footprint")
	flag.StringVar(&o.root, "root", ".", "the repository root, whose go.mod and go.sum the footprint's vendored module starts from")
	flag.StringVar(&o.release, "release", etcdtest.Version(), "the etcd release the footprint's copy is vendored from")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each workload and client")
	flag.BoolVar(&o.quick, "quick", false, "small counts, for a smoke run")
	flag.BoolVar(&o.pin, "pin", runtime.NumCPU() >= 2, "pin etcd (and this driver) to CPU 0 and the clients to CPU 1 with taskset")
	flag.BoolVar(&o.cold, "cold", true, "time a cold build of each footprint program (an empty GOCACHE)")
	flag.StringVar(&o.note, "note", "", "a warning shown at the top of the report")
	flag.StringVar(&o.command, "command", "make bench", "the command shown as the way to reproduce")
	flag.StringVar(&o.only, "only", "", "comma-separated workloads to run (default: all)")
	flag.StringVar(&o.profile, "profile", "", "write each run's CPU profile to this directory, as <client>-<workload>-<conc>.prof (the last repetition's)")
	render := flag.String("render", "", "render the report from this results.json instead of running")
	flag.Parse()
	if *render != "" {
		if err := rerender(*render, o.out); err != nil {
			fmt.Fprintln(os.Stderr, "benchdrive:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchdrive:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// planned is one case of the plan and how many times to repeat it (0: -reps).
type planned struct {
	harness.Config
	reps int
}

// listPrefix holds the list workloads' keys, written once before the first of them.
const listPrefix = "list/"

// plan is the list of cases to run, full or quick. The scale cases (10,000 leases for a
// minute, 100,000 keys listed, 10,000 watchers) keep `make bench` under 20 minutes: the
// keepalive case runs once per client.
func plan(quick bool) []planned {
	kvN, watchN, lockN, scanN, leases, ka := 20000, 50000, 2000, 400, 10000, time.Minute
	listN, watchers, watcherEvents, connects := 100000, 10000, 20000, 200
	if quick {
		kvN, watchN, lockN, scanN, leases, ka = 2000, 5000, 100, 30, 500, 3*time.Second
		listN, watchers, watcherEvents, connects = 5000, 500, 1000, 5
	}
	var out []planned
	add := func(reps int, cfg harness.Config) {
		if cfg.ValueSize == 0 {
			cfg.ValueSize = 256
		}
		out = append(out, planned{cfg, reps})
	}
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		for _, c := range []int{1, 16, 64} {
			add(0, harness.Config{Workload: w, Conc: c, N: kvN})
		}
	}
	add(0, harness.Config{Workload: harness.Watch, Conc: 1, N: watchN})
	add(0, harness.Config{Workload: harness.Lock, Conc: 8, N: lockN})
	for _, c := range []int{2, 4, 16, 32} {
		add(0, harness.Config{Workload: harness.Lock, Conc: c, N: scanN})
	}
	add(1, harness.Config{Workload: harness.KeepAlive, Conc: 1, N: leases, Duration: ka, TTL: 5 * time.Second})
	for _, w := range []string{harness.List, harness.ListPaged, harness.ListSingle} {
		add(0, harness.Config{Workload: w, Conc: 1, N: listN, ValueSize: 1024, Prefix: listPrefix})
	}
	add(0, harness.Config{Workload: harness.Watchers, Conc: watchers, N: watcherEvents, Timeout: 30 * time.Second})
	for _, eps := range []int{1, 3} {
		add(0, harness.Config{Workload: harness.Connect, Conc: eps, N: connects})
	}
	return out
}

func run(o options) error {
	if o.bin == "" {
		return fmt.Errorf("-bin is required")
	}
	if o.quick {
		o.reps = 1
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}
	ctx := context.Background()
	logf("starting etcd %s (one member, --unsafe-no-fsync)", etcdtest.Version())
	cl, err := etcdtest.Start(etcdtest.Options{Args: []string{"--unsafe-no-fsync"}})
	if err != nil {
		return err
	}
	defer cl.Stop()
	ep := cl.Endpoints()[0]
	writer, err := rawclient.Dial(ep)
	if err != nil {
		return err
	}
	defer writer.Close()

	var fps []report.Footprint
	if o.footDir != "" {
		if fps, err = footprints(ctx, o, ep); err != nil {
			return err
		}
	}

	pinning := "No CPU pinning: the clients, the server and the driver share every core."
	if o.pin {
		// The server and this driver (the watch workload's writer) on CPU 0, the runners on CPU 1.
		for _, pid := range []int{cl.Members[0].PID(), os.Getpid()} {
			if out, err := exec.Command("taskset", "-a", "-p", "-c", "0", strconv.Itoa(pid)).CombinedOutput(); err != nil {
				return fmt.Errorf("taskset: %v: %s", err, out)
			}
		}
		pinning = "etcd (and the driver that writes the watched events) pinned to CPU 0 and each client process to CPU 1 with taskset, " +
			"so each client runs with GOMAXPROCS=1."
	}

	var results []harness.Result
	failed := 0 // runs that failed, or whose checks found errors, missing events, overlaps or lost leases
	only := map[string]bool{}
	for _, w := range strings.Split(o.only, ",") {
		if w != "" {
			only[w] = true
		}
	}
	var three *etcdtest.Cluster // the connect ×3 case's cluster, started when first needed
	defer func() {
		if three != nil {
			three.Stop()
		}
	}()
	listed := false
	for _, pc := range plan(o.quick) {
		cfg := pc.Config
		if len(only) > 0 && !only[cfg.Workload] {
			continue
		}
		eps := []string{ep}
		switch {
		case cfg.Workload == harness.Connect && cfg.Conc > 1:
			if three == nil {
				if three, err = startThree(o.pin, cfg.Conc); err != nil {
					return err
				}
			}
			eps = three.Endpoints()
		case strings.HasPrefix(cfg.Workload, harness.List) && !listed:
			logf("writing %d keys of %d bytes under %s", cfg.N, cfg.ValueSize, cfg.Prefix)
			if err := writeList(ctx, writer, cfg); err != nil {
				return err
			}
			listed = true
		}
		reps := o.reps
		if pc.reps > 0 && pc.reps < reps {
			reps = pc.reps
		}
		for rep := range reps {
			for _, client := range report.Clients {
				c := cfg
				if c.Prefix == "" {
					c.Prefix = fmt.Sprintf("b/%s/%s%d/%d/", client, c.Workload, c.Conc, rep)
				}
				r, err := runOne(ctx, o, strings.Join(eps, ","), client, c, writer)
				if err != nil {
					logf("%-8s %-11s ×%-5d rep %d: %v", client, c.Workload, c.Conc, rep+1, err)
					failed++
					continue
				}
				logf("%-8s %-11s ×%-5d rep %d: %.0f/s p50 %.2f ms cpu %.1f µs allocs %.1f B %.0f rss %.0f MB mem %.1f KB errors %d faults %d %s",
					client, c.Workload, c.Conc, rep+1, r.Rate, r.P50, r.CPU, r.Allocs, r.Bytes, r.RSS, r.Mem, r.Errors, r.Faults, r.Note)
				results = append(results, r)
				if r.Errors > 0 || r.Faults > 0 {
					failed++
				}
				if err := compact(ctx, writer); err != nil {
					return err
				}
			}
		}
	}

	var instr []report.Instructions
	if !o.quick && (len(only) == 0 || only[instructionsWorkload]) { // minutes: not for a smoke run
		logf("counting instructions per operation with callgrind")
		if instr, err = countInstructions(ctx, o, ep); err != nil {
			return err
		}
	}

	host, _ := os.Hostname()
	in := report.Input{
		Meta: report.Meta{
			Date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
			Machine: fmt.Sprintf("%s (%d cores, %s)", host, runtime.NumCPU(), kernel()),
			Go:      runtime.Version(), Server: etcdtest.Version(), Pinning: pinning,
			Note: o.note, Command: o.command, Reps: o.reps, Quick: o.quick,
		},
		Results: results, Footprint: fps, Instructions: instr,
	}
	if err := write(o.out, in); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d runs failed or found errors or faults (see the log and the report)", failed)
	}
	return nil
}

// rerender writes the report again from the raw figures of an earlier run.
func rerender(path, dir string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var in report.Input
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return write(dir, in)
}

func kernel() string {
	out, err := exec.Command("uname", "-sr").Output()
	if err != nil {
		return runtime.GOOS
	}
	return strings.TrimSpace(string(out))
}

func write(dir string, in report.Input) error {
	md, err := os.Create(filepath.Join(dir, "results.md"))
	if err != nil {
		return err
	}
	defer md.Close()
	if err := report.Write(md, in); err != nil {
		return err
	}
	svg, err := os.Create(filepath.Join(dir, "results.svg"))
	if err != nil {
		return err
	}
	defer svg.Close()
	if err := report.WriteSVG(svg, in); err != nil {
		return err
	}
	js, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	logf("wrote %s/results.md, results.svg and results.json", dir)
	return md.Close()
}

// compact drops the history the last run wrote, so that every run meets a store of the same shape.
func compact(ctx context.Context, c *rawclient.Client) error {
	rev, err := c.Revision(ctx)
	if err != nil {
		return err
	}
	_, err = etcdserverpb.NewKVClient(c.Conn()).Compact(ctx, &etcdserverpb.CompactionRequest{Revision: rev})
	if status.Code(err) == codes.OutOfRange {
		return nil // nothing written since the last compaction
	}
	return err
}

// runOne runs one workload in a runner process and returns its result. For the watch
// workloads it writes events each time the runner says it is ready for them.
func runOne(ctx context.Context, o options, eps, client string, cfg harness.Config, writer *rawclient.Client) (harness.Result, error) {
	args := []string{
		"-endpoints", eps, "-workload", cfg.Workload, "-conc", strconv.Itoa(cfg.Conc), "-n", strconv.Itoa(cfg.N),
		"-value-size", strconv.Itoa(cfg.ValueSize), "-prefix", cfg.Prefix,
		"-duration", cfg.Duration.String(), "-ttl", cfg.TTL.String(),
	}
	if cfg.Timeout > 0 {
		args = append(args, "-timeout", cfg.Timeout.String())
	}
	if o.profile != "" {
		args = append(args, "-cpuprofile", filepath.Join(o.profile, fmt.Sprintf("%s-%s-%d.prof", client, cfg.Workload, cfg.Conc)))
	}
	keys := cfg.N // the events' keys: one per event, or one per watcher
	if cfg.Workload == harness.Watchers {
		keys = cfg.Conc
	}
	argv := clientCommand(o, append([]string{filepath.Join(o.bin, "bench-"+client)}, args...))
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return harness.Result{}, err
	}
	if err := cmd.Start(); err != nil {
		return harness.Result{}, err
	}
	var r harness.Result
	var werr error
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "ready "); ok {
			count, err := strconv.Atoi(n)
			if err != nil {
				return r, fmt.Errorf("bad output %q", line)
			}
			if werr == nil {
				werr = harness.WriteEvents(ctx, writer.Put, cfg.Prefix, count, keys, cfg.ValueSize, 16)
			}
			continue
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return r, fmt.Errorf("bad output %q: %w", line, err)
		}
	}
	if err := cmd.Wait(); err != nil {
		return r, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if werr != nil {
		return r, werr
	}
	if r.Client == "" {
		return r, fmt.Errorf("no result: %s", strings.TrimSpace(stderr.String()))
	}
	return r, nil
}

// clientCommand is argv run on the clients' CPU: under taskset -c 1 when o.pin is set.
func clientCommand(o options, argv []string) []string {
	if o.pin {
		return append([]string{"taskset", "-c", "1"}, argv...)
	}
	return argv
}

// writeList writes the list workloads' keys (see harness.ListKey), 64 puts at a time.
func writeList(ctx context.Context, writer *rawclient.Client, cfg harness.Config) error {
	value := strings.Repeat("l", cfg.ValueSize)
	var next atomic.Int64
	errs := make(chan error, 64)
	for range 64 {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.N {
					errs <- nil
					return
				}
				if err := writer.Put(ctx, harness.ListKey(cfg.Prefix, i), value); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var first error
	for range 64 {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// startThree starts the connect case's cluster of size members, pinned to CPU 0 with the
// main server when pin is set.
func startThree(pin bool, size int) (*etcdtest.Cluster, error) {
	logf("starting a %d-member etcd for the connect case", size)
	cl, err := etcdtest.Start(etcdtest.Options{Size: size, Args: []string{"--unsafe-no-fsync"}})
	if err != nil {
		return nil, err
	}
	if pin {
		for _, m := range cl.Members {
			if out, err := exec.Command("taskset", "-a", "-p", "-c", "0", strconv.Itoa(m.PID())).CombinedOutput(); err != nil {
				cl.Stop()
				return nil, fmt.Errorf("taskset: %v: %s", err, out)
			}
		}
	}
	return cl, nil
}
