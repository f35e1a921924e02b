package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
	"github.com/etcdkit/etcdkit/bench/internal/report"
)

// instructionsWorkload names the instruction counts in -only.
const instructionsWorkload = "instructions"

// instructionCases are the KV cases whose instructions per operation are counted, and the
// two lengths of run (-n) whose difference gives them. The collector runs every few hundred
// operations in the runners' small heaps, so one cycle more or less moves the count of a
// difference of 8,800 operations by about 2 %; 28,000 bring that under 1 %.
func instructionCases() (cases []report.Case, n1, n2 int) {
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		for _, c := range []int{1, 64} {
			cases = append(cases, report.Case{Workload: w, Conc: c})
		}
	}
	return cases, 2000, 30000
}

// countInstructions counts etcdkit's and the raw stubs' instructions per operation of the
// KV cases with callgrind, against the server at ep. It returns nothing, and says so, when
// valgrind is not installed (scripts/bench.sh installs it).
func countInstructions(ctx context.Context, o options, ep string) ([]report.Instructions, error) {
	if _, err := exec.LookPath("valgrind"); err != nil {
		logf("valgrind not found: instructions per operation not counted")
		return nil, nil
	}
	cases, n1, n2 := instructionCases()
	ops := func(n int) int { return n + harness.KVWarmup(n) }
	var out []report.Instructions
	for _, k := range cases {
		for _, client := range []string{report.Kit, report.Raw} {
			var totals [2]int64
			for i, n := range []int{n1, n2} {
				prefix := fmt.Sprintf("ir/%s/%s%d/%d/", client, k.Workload, k.Conc, n)
				total, err := callgrind(ctx, o, ep, client, k, n, prefix)
				if err != nil {
					// valgrind has tripped its own assertions under Go programs: a failed run is
					// run once more, and what it said is logged.
					logf("%-8s %-11s ×%-5d callgrind failed, running it again: %v", client, k.Workload, k.Conc, err)
					total, err = callgrind(ctx, o, ep, client, k, n, prefix+"again/")
				}
				if err != nil {
					return nil, fmt.Errorf("counting instructions of %s %s ×%d: %w", client, k.Workload, k.Conc, err)
				}
				totals[i] = total
			}
			x := report.Instructions{Client: client, Workload: k.Workload, Conc: k.Conc, Runs: [2]int{ops(n1), ops(n2)},
				PerOp: float64(totals[1]-totals[0]) / float64(ops(n2)-ops(n1))}
			logf("%-8s %-11s ×%-5d instructions/op %.0f", client, k.Workload, k.Conc, x.PerOp)
			out = append(out, x)
		}
	}
	return out, nil
}

// collected is callgrind's line with the run's total.
var collected = regexp.MustCompile(`Collected : ([0-9]+)`)

// callgrind runs one KV case with n operations under callgrind and returns the instructions
// the runner executed. Go's asynchronous preemption signals trip an assertion in callgrind
// now and then, so the run does without them.
func callgrind(ctx context.Context, o options, ep, client string, k report.Case, n int, prefix string) (int64, error) {
	dir, err := os.MkdirTemp("", "callgrind")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	args := clientCommand(o, []string{"valgrind", "--tool=callgrind", "--callgrind-out-file=" + filepath.Join(dir, "out"),
		filepath.Join(o.bin, "bench-"+client), "-endpoints", ep, "-workload", k.Workload,
		"-conc", strconv.Itoa(k.Conc), "-n", strconv.Itoa(n), "-prefix", prefix})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%v: %s", err, lastLines(stderr.String(), 5))
	}
	m := collected.FindStringSubmatch(stderr.String())
	if m == nil {
		return 0, fmt.Errorf("no total in callgrind's output: %s", lastLines(stderr.String(), 5))
	}
	return strconv.ParseInt(m[1], 10, 64)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
