package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
)

// Footprint is what a small program using one client costs to build and ship.
type Footprint struct {
	Client    string  `json:"client"`
	Bytes     int64   `json:"stripped_bytes"`
	Modules   int     `json:"modules"`
	Packages  int     `json:"packages"`
	ColdBuild float64 `json:"cold_build_s"` // 0 when not measured
	Ran       bool    `json:"ran"`          // the program worked against the server
}

// Meta describes where and how the figures were taken.
type Meta struct {
	Date, Machine, Go, Server, Pinning, Note, Command string
	Reps                                              int
	Quick                                             bool
}

// Instructions is a client's user-space instructions per operation of a KV case, counted by
// valgrind's callgrind: the difference of two runs of different lengths, divided by the
// difference in operations, so that start-up cancels out.
type Instructions struct {
	Client   string  `json:"client"`
	Workload string  `json:"workload"`
	Conc     int     `json:"conc"`
	PerOp    float64 `json:"instructions_op"`
	Runs     [2]int  `json:"runs"` // the two runs' operations, -n and warm-up
}

// Input is everything the report shows.
type Input struct {
	Meta         Meta
	Results      []harness.Result
	Footprint    []Footprint
	Instructions []Instructions `json:",omitempty"`
}

// instructionRatio is etcdkit's count for case k against the raw stubs', and whether both
// exist.
func instructionRatio(in []Instructions, k Case) (float64, bool) {
	kit, okKit := instructionsOf(in, k, Kit)
	raw, okRaw := instructionsOf(in, k, Raw)
	return kit / raw, okKit && okRaw
}

// instructionsOf returns the count of client for case k, and whether there is one.
func instructionsOf(in []Instructions, k Case, client string) (float64, bool) {
	for _, x := range in {
		if x.Client == client && x.Workload == k.Workload && x.Conc == k.Conc && x.PerOp > 0 {
			return x.PerOp, true
		}
	}
	return 0, false
}

// f formats a figure with a precision that suits its size.
func f(v float64) string {
	switch a := abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// cell is a median with its range, or "n/a".
func cell(s Summary) string {
	switch {
	case s.N == 0:
		return "n/a"
	case s.N == 1 || s.Min == s.Max:
		return f(s.Median)
	default:
		return fmt.Sprintf("%s (%s–%s)", f(s.Median), f(s.Min), f(s.Max))
	}
}

func ratio(s *Set, k Case, a, b string, m Metric) string {
	r, ok := s.Ratio(k, a, b, m)
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", r)
}

// caseName names a case in tables.
func caseName(k Case) string {
	switch k.Workload {
	case harness.Watch, harness.KeepAlive:
		return k.Workload
	case harness.Lock:
		return fmt.Sprintf("lock ×%d", k.Conc)
	case harness.List:
		return "list, streamed"
	case harness.ListPaged:
		return "list, paged"
	case harness.ListSingle:
		return "list, one response"
	case harness.Watchers:
		return fmt.Sprintf("%d watchers", k.Conc)
	case harness.Connect:
		if k.Conc == 1 {
			return "connect, 1 endpoint"
		}
		return fmt.Sprintf("connect, %d endpoints", k.Conc)
	}
	return fmt.Sprintf("%s ×%d", k.Workload, k.Conc)
}

// Write renders the report as Markdown.
func Write(w io.Writer, in Input) error {
	s := NewSet(in.Results)
	var b strings.Builder
	m := in.Meta
	fmt.Fprintf(&b, "# etcdkit benchmark: etcdkit vs clientv3 vs the raw stubs\n\n")
	if m.Note != "" {
		fmt.Fprintf(&b, "> **%s**\n\n", m.Note)
	}
	fmt.Fprintf(&b, "Measured %s on %s with %s against etcd %s: one member, `--unsafe-no-fsync`, so that the "+
		"disk is not what is measured. %s Each client runs in a process of its own, one workload per process, "+
		"in alternation (etcdkit, clientv3, raw, then again), %d repetition(s); each cell is the median, with the "+
		"range in brackets. Client CPU is the process's user+system time (getrusage); allocations and bytes "+
		"come from runtime.MemStats over the measured part only (after a warm-up).\n\n",
		m.Date, m.Machine, m.Go, m.Server, m.Pinning, m.Reps)
	if m.Quick {
		b.WriteString("Quick mode: small counts and one repetition, for a smoke run; not figures to quote.\n\n")
	}
	fmt.Fprintf(&b, "Reproduce: `%s`.\n\n", m.Command)

	b.WriteString("## Ratios\n\netcdkit / clientv3 and etcdkit / raw stubs, medians. Throughput: higher is better; the rest: lower is better.\n\n")
	b.WriteString("| case | ops/s vs v3 | ops/s vs raw | CPU/op vs v3 | CPU/op vs raw | allocs/op vs v3 | allocs/op vs raw | B/op vs v3 | B/op vs raw |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range s.Cases {
		if k.Workload == harness.KeepAlive {
			fmt.Fprintf(&b, "| %s | | | %s | %s | %s | %s | %s | %s |\n", caseName(k),
				ratio(s, k, Kit, V3, CPU), ratio(s, k, Kit, Raw, CPU), ratio(s, k, Kit, V3, Allocs), ratio(s, k, Kit, Raw, Allocs),
				ratio(s, k, Kit, V3, Bytes), ratio(s, k, Kit, Raw, Bytes))
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", caseName(k),
			ratio(s, k, Kit, V3, Rate), ratio(s, k, Kit, Raw, Rate), ratio(s, k, Kit, V3, CPU), ratio(s, k, Kit, Raw, CPU),
			ratio(s, k, Kit, V3, Allocs), ratio(s, k, Kit, Raw, Allocs), ratio(s, k, Kit, V3, Bytes), ratio(s, k, Kit, Raw, Bytes))
	}
	b.WriteString("\n![ratios](results.svg)\n\n")

	b.WriteString("## Targets\n\nThe profiles behind the missed ones, and what was cut to reach the rest, are in [profile.md](profile.md).\n\n| target | measured | met |\n|---|---|---|\n")
	for _, t := range Targets(s, in.Footprint, in.Instructions) {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Name, t.Value, t.Verdict())
	}

	sections := []struct {
		title, unit string
		workloads   []string
		scale       bool // with wall time and memory per watcher
	}{
		{"KV: put, get, CAS txn", "ops/s is operations per second over the measured operations; latency is per call; ×N is the number of concurrent callers sharing one client.",
			[]string{harness.Put, harness.Get, harness.Txn}, false},
		{"Watch", "Events delivered per second, from the watch being established to the last event; latency is from the writer's put to delivery; CPU, allocations and bytes are per event; faults are missing plus duplicate events (must be 0).",
			[]string{harness.Watch}, false},
		{"Lock", "Lock cycles (acquire, check no one else holds it, release) per second, ×N contenders each with its own session on one shared client; latency is the wait to acquire; CPU, allocations and bytes are per cycle; faults are overlapping holds (must be 0).",
			[]string{harness.Lock}, false},
		{"Keepalive", "Leases kept alive by one client for the measured time; CPU, allocations and bytes are per lease-second; wall time is the measured time; faults are leases lost (must be 0).",
			[]string{harness.KeepAlive}, true},
		{"List", "Every key under one prefix read by one client, three ways. Streamed: etcdkit's Scan (its first 1,000-key page with Range, the rest over KV.RangeStream at that page's revision), clientv3's GetStream, the raw stubs' RangeStream. Paged, 1,000-key pages at one revision: etcdkit's Range with Limit and AtRevision (the requests Scan sent before it streamed), clientv3's Get with WithLimit (as etcdctl --paginate), the raw stubs' Range. One response: etcdkit's Range, clientv3's Get, one Range, with the receive limit raised to 512 MiB. Rates are keys per second; CPU, allocations and bytes are per key; wall time is the whole read; faults are keys missing, repeated or out of order (must be 0).",
			[]string{harness.List, harness.ListPaged, harness.ListSingle}, true},
		{"Many watchers", "Watchers on distinct keys of one client (etcdkit: a Watch iterator per key on its goroutine; clientv3: a Watch channel per key drained by a goroutine; raw: every watcher on one stream). A first round of one event per watcher proves them established and is not measured; then the measured events, spread evenly. Rates are events per second; CPU, allocations and bytes are per event; KiB/watcher is the resident memory the established watchers added; faults are watchers that did not see exactly their events (must be 0).",
			[]string{harness.Watchers}, true},
		{"Connect", "Time from New to the first answered call (a count-only range), a new client each time, closed after; CPU, allocations and bytes are per connection. The raw stubs dial the first endpoint only.",
			[]string{harness.Connect}, false},
	}
	for _, sec := range sections {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", sec.title, sec.unit)
		first := "ops/s"
		if sec.workloads[0] == harness.KeepAlive {
			first = "leases"
		}
		extra, extraSep := "", ""
		if sec.scale {
			extra, extraSep = " wall s | KiB/watcher |", "---|---|"
		}
		fmt.Fprintf(&b, "| case | client | %s | p50 ms | p99 ms | CPU µs/op | allocs/op | B/op | peak RSS MB |%s errors | faults |\n", first, extra)
		fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|%s---|---|\n", extraSep)
		for _, k := range s.Cases {
			if !contains(sec.workloads, k.Workload) {
				continue
			}
			for _, c := range Clients {
				errs, faults := s.Faults(k, c)
				if len(s.Runs(k, c)) == 0 {
					fmt.Fprintf(&b, "| %s | %s | not run | | | | | | |%s | |\n", caseName(k), c, strings.Repeat(" |", len(extraSep)/4))
					continue
				}
				p50, p99 := cell(s.Get(k, c, P50)), cell(s.Get(k, c, P99))
				if k.Workload == harness.KeepAlive || k.Workload == harness.List || k.Workload == harness.ListPaged || k.Workload == harness.ListSingle {
					p50, p99 = "–", "–"
				}
				more := ""
				if sec.scale {
					mem := "–"
					if k.Workload == harness.Watchers {
						mem = cell(s.Get(k, c, Mem))
					}
					more = fmt.Sprintf(" %s | %s |", cell(s.Get(k, c, Wall)), mem)
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |%s %d | %d |\n", caseName(k), c,
					cell(s.Get(k, c, Rate)), p50, p99, cell(s.Get(k, c, CPU)),
					cell(s.Get(k, c, Allocs)), cell(s.Get(k, c, Bytes)), cell(s.Get(k, c, RSS)), more, errs, faults)
			}
		}
	}

	writeInstructions(&b, in.Instructions)

	b.WriteString("\n## Footprint\n\nA small program doing a put, a prefix get, one watch event and a lock/unlock with each client " +
		"(bench/footprint/). etcdkit: over a copy of the kit vendored with `etcdkit-gen vendor -keep KV,Watch,Lease` (built from this checkout) " +
		"into a throwaway module; raw: the same work over the bare stubs of that copy (its gen/), in the same module; clientv3: over " +
		"go.etcd.io/etcd/client/v3. Binary built with `-trimpath -ldflags='-s -w'`, " +
		"modules in `go list -m all`, non-standard packages in `go list -deps`, and a build with an empty GOCACHE (modules already downloaded).\n\n")
	b.WriteString("| client | stripped binary MB (10⁶ B) | binary vs raw | modules | packages | cold build s | ran against etcd |\n|---|---|---|---|---|---|---|\n")
	var rawBytes int64
	for _, fp := range in.Footprint {
		if fp.Client == Raw {
			rawBytes = fp.Bytes
		}
	}
	for _, fp := range in.Footprint {
		cold := "not measured"
		if fp.ColdBuild > 0 {
			cold = fmt.Sprintf("%.1f", fp.ColdBuild)
		}
		vsRaw := ""
		if rawBytes > 0 {
			vsRaw = fmt.Sprintf("%.3f×", float64(fp.Bytes)/float64(rawBytes))
		}
		fmt.Fprintf(&b, "| %s | %.2f | %s | %d | %d | %s | %v |\n", fp.Client, float64(fp.Bytes)/1e6, vsRaw, fp.Modules, fp.Packages, cold, fp.Ran)
	}
	b.WriteString("\nWhere etcdkit's extra allocations, CPU and binary size come from, with the profiles that show it: [profile.md](profile.md).\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeInstructions writes the instruction counts, etcdkit's against the raw stubs'.
func writeInstructions(b *strings.Builder, in []Instructions) {
	b.WriteString("\n## Instructions per operation\n\nUser-space instructions per KV operation, counted by valgrind's callgrind " +
		"(`GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind`, each runner pinned like the runs above): each runner runs the case twice, " +
		"with two counts of operations, and the difference of the two totals divided by the difference in operations is the cost of one " +
		"operation, garbage collection included and start-up excluded. Unlike CPU time on a shared machine, it repeats to within a few per cent (one garbage collection more or less); " +
		"it misses the kernel's time, which the two clients spend alike (bench/profile.md).\n\n")
	if len(in) == 0 {
		b.WriteString("Not counted in this run (a quick run, valgrind not found, or the stage not asked for).\n")
		return
	}
	b.WriteString("| case | etcdkit | raw stubs | etcdkit / raw | operations per run |\n|---|---|---|---|---|\n")
	var seen []Case
	for _, x := range in {
		k := Case{x.Workload, x.Conc}
		if slices.Contains(seen, k) {
			continue
		}
		seen = append(seen, k)
		kit, okKit := instructionsOf(in, k, Kit)
		raw, okRaw := instructionsOf(in, k, Raw)
		r := "n/a"
		if ratio, ok := instructionRatio(in, k); ok {
			r = fmt.Sprintf("%.3f×", ratio)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d, %d |\n", caseName(k), instrCell(kit, okKit), instrCell(raw, okRaw), r, x.Runs[0], x.Runs[1])
	}
}

func instrCell(v float64, ok bool) string {
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
