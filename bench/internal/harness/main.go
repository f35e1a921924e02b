package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// Main is the body of a runner program (cmd/bench-*): it runs the one workload its flags
// name with the client newClient makes, and prints the Result as one line of JSON. For the
// watch workloads it first prints a line "ready N" each time the writer is to write N events.
func Main(name string, newClient NewFunc) {
	if err := main1(name, newClient); err != nil {
		fmt.Fprintf(os.Stderr, "bench-%s: %v\n", name, err)
		os.Exit(1)
	}
}

func main1(name string, newClient NewFunc) error {
	var (
		cfg        Config
		endpoints  = flag.String("endpoints", "127.0.0.1:2379", "comma-separated etcd endpoints")
		cpuProfile = flag.String("cpuprofile", "", "write a CPU profile of the measured run to this file")
		memProfile = flag.String("memprofile", "", "write an allocation profile (every allocation sampled) to this file")
	)
	flag.StringVar(&cfg.Workload, "workload", Put, "put, get, txn, watch, lock, keepalive, list, list-single, watchers or connect")
	flag.IntVar(&cfg.Conc, "conc", 1, "concurrent callers, lock contenders or watchers")
	flag.IntVar(&cfg.N, "n", 1000, "operations, events, lock cycles, leases, keys listed or connections")
	flag.IntVar(&cfg.ValueSize, "value-size", 256, "value size in bytes")
	flag.StringVar(&cfg.Prefix, "prefix", "bench/", "key prefix of this run")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "keepalive: how long to keep the leases alive")
	flag.DurationVar(&cfg.TTL, "ttl", 5*time.Second, "keepalive: lease TTL")
	flag.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "watch: how long to wait for the events")
	flag.Parse()

	if *memProfile != "" {
		runtime.MemProfileRate = 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out := bufio.NewWriter(os.Stdout)
	if cfg.Workload == Connect {
		r, err := RunConnect(ctx, newClient, strings.Split(*endpoints, ","), cfg)
		if err != nil {
			return err
		}
		return printResult(out, name, r)
	}
	maxResponse := 0
	if cfg.Workload == ListSingle {
		maxResponse = MaxResponse
	}
	c, err := newClient(strings.Split(*endpoints, ","), maxResponse)
	if err != nil {
		return err
	}
	defer c.Close()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	r, err := Run(ctx, c, cfg, func(n int) {
		fmt.Fprintln(out, "ready", n)
		out.Flush()
	})
	if err != nil {
		return err
	}
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			return err
		}
	}
	return printResult(out, name, r)
}

// printResult writes r, from the client name, as one line of JSON.
func printResult(out *bufio.Writer, name string, r Result) error {
	r.Client = name
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n", line)
	return out.Flush()
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}
