// Package report aggregates the runs of the benchmark and renders them: a Markdown report
// with medians, ranges and ratios, a check of the project's targets, and an SVG chart.
package report

import (
	"slices"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
)

// The clients, in the order they run and are shown.
const (
	Kit = "etcdkit"
	V3  = "clientv3"
	Raw = "raw"
)

// Clients lists the clients in run order.
var Clients = []string{Kit, V3, Raw}

// Case names one measured configuration: a workload at a concurrency.
type Case struct {
	Workload string
	Conc     int
}

// Metric picks one figure out of a result.
type Metric func(harness.Result) float64

// The metrics.
var (
	Rate   Metric = func(r harness.Result) float64 { return r.Rate }
	P50    Metric = func(r harness.Result) float64 { return r.P50 }
	P99    Metric = func(r harness.Result) float64 { return r.P99 }
	CPU    Metric = func(r harness.Result) float64 { return r.CPU }
	Allocs Metric = func(r harness.Result) float64 { return r.Allocs }
	Bytes  Metric = func(r harness.Result) float64 { return r.Bytes }
	RSS    Metric = func(r harness.Result) float64 { return r.RSS }
	Mem    Metric = func(r harness.Result) float64 { return r.Mem }
	Wall   Metric = func(r harness.Result) float64 { return r.Seconds }
)

// Summary is a metric over a case's repetitions.
type Summary struct {
	Median, Min, Max float64
	N                int
}

// Set holds every run, by case and client.
type Set struct {
	Cases []Case // in first-seen order
	runs  map[Case]map[string][]harness.Result
}

// NewSet groups results.
func NewSet(results []harness.Result) *Set {
	s := &Set{runs: map[Case]map[string][]harness.Result{}}
	for _, r := range results {
		k := Case{r.Workload, r.Conc}
		if s.runs[k] == nil {
			s.runs[k] = map[string][]harness.Result{}
			s.Cases = append(s.Cases, k)
		}
		s.runs[k][r.Client] = append(s.runs[k][r.Client], r)
	}
	return s
}

// Runs returns a case's results for a client.
func (s *Set) Runs(k Case, client string) []harness.Result { return s.runs[k][client] }

// Get summarises metric m of a case for a client; N is 0 when it has no runs.
func (s *Set) Get(k Case, client string, m Metric) Summary {
	rs := s.runs[k][client]
	if len(rs) == 0 {
		return Summary{}
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = m(r)
	}
	return Summarise(v)
}

// Summarise returns the median (the mean of the middle two for an even count), min and max.
func Summarise(v []float64) Summary {
	if len(v) == 0 {
		return Summary{}
	}
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return Summary{Median: med, Min: v[0], Max: v[n-1], N: n}
}

// Ratio is the ratio of client a's median to client b's, and whether both exist (a zero
// median, the mark of runs that failed, does not).
func (s *Set) Ratio(k Case, a, b string, m Metric) (float64, bool) {
	x, y := s.Get(k, a, m), s.Get(k, b, m)
	if x.N == 0 || y.N == 0 || y.Median == 0 || x.Median == 0 {
		return 0, false
	}
	return x.Median / y.Median, true
}

// Faults sums a case's errors and faults for a client over its runs.
func (s *Set) Faults(k Case, client string) (errors, faults int) {
	for _, r := range s.runs[k][client] {
		errors += r.Errors
		faults += r.Faults
	}
	return errors, faults
}
