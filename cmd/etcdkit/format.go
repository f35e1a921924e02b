package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/etcdkit/etcdkit/etcd"
)

// The table and fields formats, as etcdctl 3.7 prints them. The commands that print a table
// (member list, endpoint status, health and hashkv) make their rows once: the simple format
// prints each row's cells joined by ", ", the table format boxes them.

// printRows prints rows in simple format, or with -w table as a table under hdr.
func (a *app) printRows(hdr []string, rows [][]string) {
	if a.g.writeOut == "table" {
		writeTable(a.stdout, hdr, rows)
		return
	}
	for _, row := range rows {
		fmt.Fprintln(a.stdout, strings.Join(row, ", "))
	}
}

// writeTable draws a table as etcdctl's table writer does: box-drawing lines, headings
// upper-cased with "_" as a space and centred (an odd space to the right), cells right-aligned,
// one space of padding each side.
func writeTable(w io.Writer, hdr []string, rows [][]string) {
	heads := make([]string, len(hdr))
	widths := make([]int, len(hdr))
	for i, h := range hdr {
		heads[i] = strings.ToUpper(strings.TrimSpace(strings.ReplaceAll(h, "_", " ")))
		widths[i] = utf8.RuneCountInString(heads[i])
	}
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	line := func(left, mid, right string) {
		parts := make([]string, len(widths))
		for i, n := range widths {
			parts[i] = strings.Repeat("─", n+2)
		}
		fmt.Fprintln(w, left+strings.Join(parts, mid)+right)
	}
	cells := func(row []string, centre bool) {
		parts := make([]string, len(widths))
		for i, n := range widths {
			gap := n - utf8.RuneCountInString(row[i])
			left := gap
			if centre {
				left = gap / 2
			}
			parts[i] = " " + strings.Repeat(" ", left) + row[i] + strings.Repeat(" ", gap-left) + " "
		}
		fmt.Fprintln(w, "│"+strings.Join(parts, "│")+"│")
	}
	line("┌", "┬", "┐")
	cells(heads, true)
	line("├", "┼", "┤")
	for _, row := range rows {
		cells(row, false)
	}
	line("└", "┴", "┘")
}

// fieldsID formats an ID in fields format: decimal, or hexadecimal with --hex.
func (a *app) fieldsID(id uint64) string {
	if a.g.hex {
		return fmt.Sprintf("%x", id)
	}
	return fmt.Sprint(id)
}

// printFieldsHeader prints a response header in fields format: the revision only when set
// (cluster and maintenance calls leave it out).
func (a *app) printFieldsHeader(h etcd.Header) {
	fmt.Fprintf(a.stdout, "\"ClusterID\" : %s\n\"MemberID\" : %s\n", a.fieldsID(h.ClusterID), a.fieldsID(h.MemberID))
	if h.Revision > 0 {
		fmt.Fprintf(a.stdout, "\"Revision\" : %d\n", h.Revision)
	}
	fmt.Fprintf(a.stdout, "\"RaftTerm\" : %d\n", h.RaftTerm)
}

// printFieldsKV prints a key-value in fields format, its field names after prefix ("Prev").
func (a *app) printFieldsKV(prefix string, kv *etcd.KeyValue) {
	p := func(name, format string, v any) { fmt.Fprintf(a.stdout, "\"%s%s\" : "+format+"\n", prefix, name, v) }
	p("Key", "%q", string(kv.Key))
	p("CreateRevision", "%d", kv.CreateRevision)
	p("ModRevision", "%d", kv.ModRevision)
	p("Version", "%d", kv.Version)
	p("Value", "%q", string(kv.Value))
	a.printFieldsLease("Lease", int64(kv.Lease), prefix)
}

// printFieldsLease prints a lease ID in fields format: decimal, or 16 hexadecimal digits with
// --hex.
func (a *app) printFieldsLease(name string, id int64, prefix string) {
	if a.g.hex {
		fmt.Fprintf(a.stdout, "\"%s%s\" : %016x\n", prefix, name, id)
		return
	}
	fmt.Fprintf(a.stdout, "\"%s%s\" : %d\n", prefix, name, id)
}
