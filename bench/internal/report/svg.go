package report

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"

	"github.com/etcdkit/etcdkit/bench/internal/harness"
)

// bar is one row of the chart: etcdkit's ratio to clientv3 and to the raw stubs.
type bar struct {
	label      string
	v3, raw    float64
	hasV3, hRa bool
}

// chartRows picks the main ratios: throughput, CPU, allocations and bytes per op of the KV
// workloads, the watch, lock and keepalive, and the footprint.
func chartRows(s *Set, fps []Footprint) []bar {
	var rows []bar
	add := func(label string, k Case, m Metric) {
		v3, ok1 := s.Ratio(k, Kit, V3, m)
		raw, ok2 := s.Ratio(k, Kit, Raw, m)
		if ok1 || ok2 {
			rows = append(rows, bar{label, v3, raw, ok1, ok2})
		}
	}
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		add(w+" ×64 ops/s", Case{w, 64}, Rate)
	}
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		add(w+" ×64 CPU/op", Case{w, 64}, CPU)
	}
	for _, w := range []string{harness.Put, harness.Get, harness.Txn} {
		add(w+" allocs/op", Case{w, 1}, Allocs)
		add(w+" B/op", Case{w, 1}, Bytes)
	}
	add("watch CPU/event", Case{harness.Watch, 1}, CPU)
	add("lock ×8 cycles/s", Case{harness.Lock, 8}, Rate)
	add("keepalive CPU", Case{harness.KeepAlive, 1}, CPU)
	add("keepalive peak RSS", Case{harness.KeepAlive, 1}, RSS)
	add("list streamed CPU/key", Case{harness.List, 1}, CPU)
	add("list streamed peak RSS", Case{harness.List, 1}, RSS)
	add("list, one response, RSS", Case{harness.ListSingle, 1}, RSS)
	for _, k := range s.Cases {
		if k.Workload == harness.Watchers {
			add("watchers CPU/event", k, CPU)
			add("watchers KiB/watcher", k, Mem)
		}
	}
	add("connect ×3 p50", Case{harness.Connect, 3}, P50)
	byClient := map[string]Footprint{}
	for _, fp := range fps {
		byClient[fp.Client] = fp
	}
	k, v, r := byClient[Kit], byClient[V3], byClient[Raw]
	if k.Bytes > 0 && v.Bytes > 0 && r.Bytes > 0 {
		rows = append(rows,
			bar{"binary size", float64(k.Bytes) / float64(v.Bytes), float64(k.Bytes) / float64(r.Bytes), true, true},
			bar{"modules", float64(k.Modules) / float64(v.Modules), float64(k.Modules) / float64(r.Modules), true, true},
			bar{"packages", float64(k.Packages) / float64(v.Packages), float64(k.Packages) / float64(r.Packages), true, true})
	}
	return rows
}

// WriteSVG draws the main ratios as horizontal bars, with the line at 1.0 (parity).
func WriteSVG(w io.Writer, in Input) error {
	rows := chartRows(NewSet(in.Results), in.Footprint)
	const (
		left, right, top, rowH, barH = 170, 70, 76, 30, 11
		plotW                        = 520
	)
	// Up to 2.5×: a larger ratio (the lock's hand-off, say) is drawn to the edge and labelled.
	const scale = 2.5
	x := func(v float64) float64 { return left + math.Min(v, scale)/scale*plotW }
	height := top + rowH*len(rows) + 40
	width := left + plotW + right
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14" font-weight="bold">etcdkit relative to clientv3 and to the raw stubs (medians; 1.0 = parity)</text>`+"\n", 10)
	fmt.Fprintf(&b, `<rect x="%d" y="30" width="12" height="10" fill="#3b6fb6"/><text x="%d" y="39">etcdkit / clientv3</text>`+"\n", left, left+16)
	fmt.Fprintf(&b, `<rect x="%d" y="30" width="12" height="10" fill="#a0a0a0"/><text x="%d" y="39">etcdkit / raw stubs</text>`+"\n", left+150, left+166)
	fmt.Fprintf(&b, `<text x="%d" y="58" fill="#555">ops/s and cycles/s: higher is better; the rest: lower is better</text>`+"\n", left)
	for t := 0.0; t <= scale+1e-9; t += 0.5 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e4e4e4"/>`+"\n", x(t), top-6, x(t), top+rowH*len(rows))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%.1f</text>`+"\n", x(t), top+rowH*len(rows)+16, t)
	}
	for i, r := range rows {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+barH+4, html.EscapeString(r.label))
		for j, v := range []struct {
			val   float64
			ok    bool
			color string
		}{{r.v3, r.hasV3, "#3b6fb6"}, {r.raw, r.hRa, "#a0a0a0"}} {
			if !v.ok {
				continue
			}
			by := y + j*(barH+1)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, by, x(v.val)-left, barH, v.color)
			label := fmt.Sprintf("%.2f", v.val)
			if v.val > scale {
				label = "▶ " + label
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10">%s</text>`+"\n", x(v.val)+3, by+barH-1, label)
		}
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c0392b" stroke-width="1.5"/>`+"\n", x(1), top-6, x(1), top+rowH*len(rows))
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
