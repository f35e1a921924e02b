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
	bin, out, footDir string
	reps              int
	quick, pin, cold  bool
	note, command     string
	only              string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "directory holding bench-etcdkit, bench-clientv3 and bench-raw")
	flag.StringVar(&o.out, "out", "bench", "directory to write results.md, results.svg and results.json to")
	flag.StringVar(&o.footDir, "footprint", "bench/footprint", "directory of the footprint programs (empty: skip)")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each workload and client")
	flag.BoolVar(&o.quick, "quick", false, "small counts, for a smoke run")
	flag.BoolVar(&o.pin, "pin", runtime.NumCPU() >= 2, "pin etcd (and this driver) to CPU 0 and the clients to CPU 1 with taskset")
	flag.BoolVar(&o.cold, "cold", true, "time a cold build of each footprint program (an empty GOCACHE)")
	flag.StringVar(&o.note, "note", "", "a warning shown at the top of the report")
	flag.StringVar(&o.command, "command", "make bench", "the command shown as the way to reproduce")
	flag.StringVar(&o.only, "only", "", "comma-separated workloads to run (default: all)")
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

// plan is the list of cases to run, full or quick.
func plan(quick bool) []harness.Config {
	kvN, watchN, lockN, scanN, leases, ka := 20000, 50000, 2000, 400, 1000, 10*time.Second
	if quick {
		kvN, watchN, lockN, scanN, leases, ka = 2000, 5000, 100, 30, 200, 2*time.Second
	}
	var out []harness.Config
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		for _, c := range []int{1, 16, 64} {
			out = append(out, harness.Config{Workload: w, Conc: c, N: kvN})
		}
	}
	out = append(out, harness.Config{Workload: harness.Watch, Conc: 1, N: watchN})
	out = append(out, harness.Config{Workload: harness.Lock, Conc: 8, N: lockN})
	for _, c := range []int{2, 4, 16, 32} {
		out = append(out, harness.Config{Workload: harness.Lock, Conc: c, N: scanN})
	}
	out = append(out, harness.Config{Workload: harness.KeepAlive, Conc: 1, N: leases, Duration: ka, TTL: 5 * time.Second})
	for i := range out {
		out[i].ValueSize = 256
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
	for _, cfg := range plan(o.quick) {
		if len(only) > 0 && !only[cfg.Workload] {
			continue
		}
		for rep := range o.reps {
			for _, client := range report.Clients {
				c := cfg
				c.Prefix = fmt.Sprintf("b/%s/%s%d/%d/", client, c.Workload, c.Conc, rep)
				r, err := runOne(ctx, o, ep, client, c, writer)
				if err != nil {
					logf("%-8s %-9s ×%-2d rep %d: %v", client, c.Workload, c.Conc, rep+1, err)
					failed++
					continue
				}
				logf("%-8s %-9s ×%-2d rep %d: %.0f/s p50 %.2f ms cpu %.1f µs allocs %.1f B %.0f errors %d faults %d %s",
					client, c.Workload, c.Conc, rep+1, r.Rate, r.P50, r.CPU, r.Allocs, r.Bytes, r.Errors, r.Faults, r.Note)
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

	host, _ := os.Hostname()
	in := report.Input{
		Meta: report.Meta{
			Date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
			Machine: fmt.Sprintf("%s (%d cores, %s)", host, runtime.NumCPU(), kernel()),
			Go:      runtime.Version(), Server: etcdtest.Version(), Pinning: pinning,
			Note: o.note, Command: o.command, Reps: o.reps, Quick: o.quick,
		},
		Results: results, Footprint: fps,
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
// workload it writes the events once the runner says it is ready.
func runOne(ctx context.Context, o options, ep, client string, cfg harness.Config, writer *rawclient.Client) (harness.Result, error) {
	args := []string{
		"-endpoints", ep, "-workload", cfg.Workload, "-conc", strconv.Itoa(cfg.Conc), "-n", strconv.Itoa(cfg.N),
		"-value-size", strconv.Itoa(cfg.ValueSize), "-prefix", cfg.Prefix,
		"-duration", cfg.Duration.String(), "-ttl", cfg.TTL.String(),
	}
	name := filepath.Join(o.bin, "bench-"+client)
	if o.pin {
		args = append([]string{"-c", "1", name}, args...)
		name = "taskset"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
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
		if line == "ready" {
			werr = harness.WriteEvents(ctx, writer.Put, cfg.Prefix, cfg.N, cfg.ValueSize, 16)
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
