package report

import (
	"fmt"
	"strings"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
)

// Target is one of the project's goals for etcdkit, checked against the figures.
type Target struct {
	Name  string
	Value string
	Met   bool
	Known bool // false when the figures needed are missing
	ratio float64
}

// Verdict is "yes", "**no**" or "n/a".
func (t Target) Verdict() string {
	switch {
	case !t.Known:
		return "n/a"
	case t.Met:
		return "yes"
	}
	return "**no**"
}

// Targets checks the project's goals: issue 22's against the raw stubs and clientv3 first,
// then those of issues 6 and 13 that still hold.
func Targets(s *Set, fps []Footprint, instr []Instructions) []Target {
	var out []Target
	ratioTarget := func(name string, k Case, b string, m Metric, limit float64, atLeast bool) {
		r, ok := s.Ratio(k, Kit, b, m)
		t := Target{Name: name, Known: ok}
		if ok {
			t.Value = fmt.Sprintf("%.2f×", r)
			t.Met = r <= limit
			if atLeast {
				t.Met = r >= limit
			}
		}
		out = append(out, failedRuns(s, k, t))
	}
	// worst takes the worst of ratio, etcdkit's against the raw stubs', over the given caller
	// counts of workload w, shown with digits decimals.
	worst := func(name, w string, ratio func(Case) (float64, bool), digits int, limit float64, concs ...int) {
		t := Target{Name: name}
		for _, n := range concs {
			if r, ok := ratio(Case{w, n}); ok && (!t.Known || r > t.ratio) {
				t.Known, t.ratio = true, r
				t.Value = fmt.Sprintf("%.*f× (worst: ×%d)", digits, r, n)
			}
		}
		t.Met = t.Known && t.ratio <= limit
		out = append(out, t)
	}
	vsRaw := func(m Metric) func(Case) (float64, bool) {
		return func(k Case) (float64, bool) { return s.Ratio(k, Kit, Raw, m) }
	}
	instructions := func(k Case) (float64, bool) { return instructionRatio(instr, k) }
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		worst(fmt.Sprintf("%s allocs/op ≤ 0.90× raw (×1, ×64)", w), w, vsRaw(Allocs), 2, 0.90, 1, 64)
	}
	// Client CPU per op against the raw stubs, at 1 and 64 callers: as instructions, which
	// repeat, and as process CPU time, which on a busy 2-core machine does not.
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		worst(fmt.Sprintf("%s instructions/op ≤ 0.90× raw (×1, ×64)", w), w, instructions, 3, 0.90, 1, 64)
	}
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		for _, n := range []int{1, 64} {
			ratioTarget(fmt.Sprintf("%s ×%d CPU/op ≤ 0.95× raw", w, n), Case{w, n}, Raw, CPU, 0.95, false)
		}
	}
	ratioTarget("connect, 3 endpoints: p50 ≤ clientv3's", Case{harness.Connect, 3}, V3, P50, 1.0, false)
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		worst(fmt.Sprintf("%s B/op ≤ 1.10× raw", w), w, vsRaw(Bytes), 2, 1.10, 1, 16, 64)
	}
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		ratioTarget(fmt.Sprintf("%s ×64 CPU/op ≤ 0.90× clientv3", w), Case{w, 64}, V3, CPU, 0.90, false)
	}
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		for _, n := range []int{16, 64} {
			ratioTarget(fmt.Sprintf("%s ×%d ops/s ≥ 1.0× clientv3", w, n), Case{w, n}, V3, Rate, 1.0, true)
		}
	}
	lock := Case{harness.Lock, 8}
	if r, p := s.Get(lock, Kit, Rate), s.Get(lock, Kit, P50); r.N > 0 {
		_, faults := s.Faults(lock, Kit)
		out = append(out, Target{Name: "lock ×8: ≥ 790 cycles/s, p50 ≤ 10 ms, no overlap", Known: true,
			Value: fmt.Sprintf("%.0f/s, p50 %.1f ms, %d overlaps", r.Median, p.Median, faults),
			Met:   r.Median >= 790 && p.Median <= 10 && faults == 0})
	} else {
		out = append(out, Target{Name: "lock ×8: ≥ 790 cycles/s, p50 ≤ 10 ms, no overlap", Value: "not run"})
	}
	watch := Case{harness.Watch, 1}
	if kc := s.Get(watch, Kit, CPU); kc.N > 0 {
		_, faults := s.Faults(watch, Kit)
		vc := s.Get(watch, V3, CPU)
		out = append(out, Target{Name: "watch: 0 missing/duplicate, CPU/event ≤ clientv3", Known: vc.N > 0,
			Value: fmt.Sprintf("%d faults, %.2f vs %.2f µs/event", faults, kc.Median, vc.Median),
			Met:   faults == 0 && kc.Median <= vc.Median})
	}
	// The scale goals compare etcdkit's Scan with clientv3's single Get, with etcdkit's own
	// paged read and with the raw stubs' paged read.
	across := func(name string, a Case, b Case, bClient string, m Metric, limit float64) {
		x, y := s.Get(a, Kit, m), s.Get(b, bClient, m)
		t := Target{Name: name, Known: x.N > 0 && y.N > 0 && y.Median > 0}
		if t.Known {
			t.Value = fmt.Sprintf("%.2f×", x.Median/y.Median)
			t.Met = x.Median/y.Median <= limit
		}
		out = append(out, failedRuns(s, a, t))
	}
	list, paged, single := Case{harness.List, 1}, Case{harness.ListPaged, 1}, Case{harness.ListSingle, 1}
	across("list: Scan peak RSS ≤ 0.5× clientv3's single Get", list, single, V3, RSS, 0.5)
	across("list: Scan CPU ≤ 0.9× clientv3's single Get", list, single, V3, CPU, 0.9)
	across("list: Scan wall ≤ 0.6× etcdkit paged", list, paged, Kit, Wall, 0.6)
	across("list: Scan CPU/key ≤ 0.6× raw paged", list, paged, Raw, CPU, 0.6)
	across("list: Scan peak RSS ≤ 1.0× etcdkit paged", list, paged, Kit, RSS, 1.0)
	for _, k := range s.Cases {
		if k.Workload != harness.Watchers {
			continue
		}
		ratioTarget(fmt.Sprintf("%d watchers: memory per watcher ≤ 0.7× clientv3", k.Conc), k, V3, Mem, 0.7, false)
		ratioTarget(fmt.Sprintf("%d watchers: CPU per event ≤ 0.7× clientv3", k.Conc), k, V3, CPU, 0.7, false)
		ratioTarget(fmt.Sprintf("%d watchers: CPU per event ≤ 1.15× raw", k.Conc), k, Raw, CPU, 1.15, false)
	}
	ka := Case{harness.KeepAlive, 1}
	if r := s.Get(ka, Kit, Rate); r.N > 0 {
		ratioTarget(fmt.Sprintf("keepalive of %.0f leases: CPU ≤ 0.7× clientv3", r.Median), ka, V3, CPU, 0.7, false)
		ratioTarget(fmt.Sprintf("keepalive of %.0f leases: peak RSS ≤ 0.8× clientv3", r.Median), ka, V3, RSS, 0.8, false)
		ratioTarget(fmt.Sprintf("keepalive of %.0f leases: CPU ≤ 1.05× raw", r.Median), ka, Raw, CPU, 1.05, false)
	}
	for _, fp := range fps {
		if fp.Client != Kit {
			continue
		}
		out = append(out,
			Target{Name: "binary ≤ 11 MB", Known: true, Value: fmt.Sprintf("%.1f MB", float64(fp.Bytes)/1e6), Met: fp.Bytes <= 11e6},
			Target{Name: "modules ≤ 46", Known: true, Value: fmt.Sprint(fp.Modules), Met: fp.Modules <= 46},
			Target{Name: "packages ≤ 120", Known: true, Value: fmt.Sprint(fp.Packages), Met: fp.Packages <= 120})
	}
	return out
}

// failedRuns marks t missed when etcdkit's runs of k had errors or faults (lost leases,
// missing events): their figures do not measure the work asked for.
func failedRuns(s *Set, k Case, t Target) Target {
	errs, faults := s.Faults(k, Kit)
	if errs+faults == 0 {
		return t
	}
	t.Known, t.Met = true, false
	t.Value = strings.TrimPrefix(t.Value+fmt.Sprintf("; etcdkit's runs: %d errors, %d faults", errs, faults), "; ")
	return t
}
