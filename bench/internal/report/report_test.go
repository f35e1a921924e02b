package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
)

func TestSummarise(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []float64
		want Summary
	}{
		{nil, Summary{}},
		{[]float64{3}, Summary{3, 3, 3, 1}},
		{[]float64{5, 1, 3}, Summary{3, 1, 5, 3}},
		{[]float64{4, 1, 2, 3}, Summary{2.5, 1, 4, 4}},
	} {
		if got := Summarise(tc.in); got != tc.want {
			t.Errorf("Summarise(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func sample() Input {
	var rs []harness.Result
	for rep := range 3 {
		for _, c := range Clients {
			k := float64(rep + 1)
			rs = append(rs,
				harness.Result{Client: c, Workload: harness.Put, Conc: 1, Rate: 1000 * k, CPU: 50, Allocs: 90, Bytes: 6000},
				harness.Result{Client: c, Workload: harness.Put, Conc: 64, Rate: 9000 * k, CPU: 30, Allocs: 90, Bytes: 6000},
				harness.Result{Client: c, Workload: harness.Watch, Conc: 1, Rate: 20000, CPU: 5},
			)
		}
	}
	rs = append(rs, harness.Result{Client: V3, Workload: harness.Lock, Conc: 8, Rate: 79, P50: 100})
	for _, c := range []string{Kit, V3} {
		rs = append(rs,
			harness.Result{Client: c, Workload: harness.List, Conc: 1, CPU: 1, RSS: 20, Seconds: 2},
			harness.Result{Client: c, Workload: harness.ListSingle, Conc: 1, CPU: 1.5, RSS: 100, Seconds: 2},
		)
	}
	rs = append(rs,
		harness.Result{Client: Kit, Workload: harness.ListPaged, Conc: 1, CPU: 2, RSS: 18, Seconds: 4},
		harness.Result{Client: Raw, Workload: harness.ListPaged, Conc: 1, CPU: 1.5, RSS: 15, Seconds: 3},
	)
	rs = append(rs,
		harness.Result{Client: Kit, Workload: harness.Watchers, Conc: 100, CPU: 5, Mem: 3},
		harness.Result{Client: Kit, Workload: harness.Watchers, Conc: 100, Errors: 1, Faults: 100},
		harness.Result{Client: V3, Workload: harness.Watchers, Conc: 100, CPU: 5, Mem: 6},
	)
	return Input{
		Meta:    Meta{Reps: 3, Command: "make bench", Note: "busy"},
		Results: rs,
		Footprint: []Footprint{
			{Client: Kit, Bytes: 10e6, Modules: 42, Packages: 114},
			{Client: V3, Bytes: 13.7e6, Modules: 78, Packages: 154},
			{Client: Raw, Bytes: 10e6, Modules: 42, Packages: 112},
		},
		Instructions: []Instructions{
			{Client: Kit, Workload: "put", Conc: 1, PerOp: 72000, Runs: [2]int{2200, 11000}},
			{Client: Raw, Workload: "put", Conc: 1, PerOp: 80000, Runs: [2]int{2200, 11000}},
			{Client: Kit, Workload: "put", Conc: 64, PerOp: 74000, Runs: [2]int{2200, 11000}},
			{Client: Raw, Workload: "put", Conc: 64, PerOp: 80000, Runs: [2]int{2200, 11000}},
			{Client: Kit, Workload: "get", Conc: 1, PerOp: 70000, Runs: [2]int{2200, 11000}},
		},
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := Write(&b, sample()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| put ×64 | 1.00× | 1.00× |",
		"| put ×1 | etcdkit | 2000 (1000–3000) |",
		"| lock ×8 | etcdkit | not run |",
		"| lock ×8: ≥ 790 cycles/s, p50 ≤ 10 ms, no overlap | not run | n/a |",
		"| packages ≤ 120 | 114 | yes |",
		"| put allocs/op ≤ 0.90× raw (×1, ×64) | 1.00× (worst: ×1) | **no** |",
		"| put ×64 CPU/op ≤ 0.95× raw | 1.00× | **no** |",
		"| list: Scan peak RSS ≤ 0.5× clientv3's single Get | 0.20× | yes |",
		"| list: Scan CPU ≤ 0.9× clientv3's single Get | 0.67× | yes |",
		"| 100 watchers: memory per watcher ≤ 0.7× clientv3 | 0.25×; etcdkit's runs: 1 errors, 100 faults | **no** |",
		"| 100 watchers: CPU per event ≤ 0.7× clientv3 | 0.50×; etcdkit's runs: 1 errors, 100 faults | **no** |",
		"| list, streamed | etcdkit | 0 | – | – | 1.00 | 0 | 0 | 20.0 | 2.00 | – | 0 | 0 |",
		"| list, paged | raw | 0 | – | – | 1.50 | 0 | 0 | 15.0 | 3.00 | – | 0 | 0 |",
		"| list: Scan wall ≤ 0.6× etcdkit paged | 0.50× | yes |",
		"| list: Scan CPU/key ≤ 0.6× raw paged | 0.67× | **no** |",
		"| list: Scan peak RSS ≤ 1.0× etcdkit paged | 1.11× | **no** |",
		"| 100 watchers | clientv3 | 0 | 0 | 0 | 5.00 | 0 | 0 | 0 | 0 | 6.00 | 0 | 0 |",
		"| 100 watchers | etcdkit | 0 | 0 | 0 | 2.50 (0–5.00) | 0 | 0 | 0 | 0 | 1.50 (0–3.00) | 1 | 100 |",
		"| put ×64 CPU/op ≤ 0.90× clientv3 | 1.00× | **no** |",
		"> **busy**",
		"| put ×1 | 72000 | 80000 | 0.900× | 2200, 11000 |",
		"| put ×64 | 74000 | 80000 | 0.925× | 2200, 11000 |",
		"| get ×1 | 70000 | n/a | n/a | 2200, 11000 |",
		"| put instructions/op ≤ 0.90× raw (×1, ×64) | 0.925× (worst: ×64) | **no** |",
		"| get instructions/op ≤ 0.90× raw (×1, ×64) |  | n/a |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteSVG(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteSVG(&b, sample()); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&b)
	n := 0
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			n++
		}
	}
	// background, two legend swatches, two bars for each of: put ×64 ops/s, put ×64 CPU/op,
	// put allocs/op, put B/op, watch CPU/event, binary size, modules, packages; and one
	// (against clientv3) for each of: list CPU/key, list RSS, list in one response RSS,
	// watchers CPU/event, watchers KiB/watcher.
	if want := 3 + 2*8 + 5; n != want {
		t.Errorf("%d rects, want %d", n, want)
	}
}
