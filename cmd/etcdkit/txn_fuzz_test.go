package main

import (
	"bufio"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/etcd"
)

// parseTxn reads a whole transaction, as txn reads one from standard input.
func parseTxn(r io.Reader) (etcd.Txn, error) {
	br := bufio.NewReader(r)
	var t etcd.Txn
	var err error
	if t.If, err = readCompares(br); err != nil {
		return t, err
	}
	if t.Then, err = readOps(br); err != nil {
		return t, err
	}
	t.Else, err = readOps(br)
	return t, err
}

// txnSections splits a transaction's text as the grammar reads it: the trimmed lines of its
// first three sections, each ended by a blank line or the end of the input.
func txnSections(in string) [3][]string {
	var secs [3][]string
	lines := strings.SplitAfter(in, "\n")
	for i := range secs {
		for len(lines) > 0 && lines[0] != "" {
			line := strings.TrimSpace(lines[0])
			lines = lines[1:]
			if line == "" {
				break
			}
			secs[i] = append(secs[i], line)
		}
	}
	return secs
}

// FuzzParseTxn feeds the transaction parser arbitrary input. It must never panic; what it
// rejects, it rejects naming the line at fault (or, for a bad escape in a request's quoted
// word, with etcdctl's "invalid syntax"); what it accepts holds one comparison or request per
// line of each section, and reads the same written back with each section's lines trimmed
// and one blank line after each section. Seeds are in testdata/fuzz/FuzzParseTxn.
func FuzzParseTxn(f *testing.F) {
	f.Add("mod(\"key1\") > \"0\"\n\nput key1 \"overwrote-key1\"\n\nput key1 \"created-key1\"\nput key2 \"some extra key\"\n\n")
	f.Add("val(\"a\") = \"1\"\nlease(\"b\") != \"7f\"\n\nget a --prefix --limit 2\ndel 'x y' --prev-kv\n\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		txn, err := parseTxn(strings.NewReader(in))
		secs := txnSections(in)
		if err != nil {
			named := err.Error() == "invalid syntax" && strings.Contains(strings.Join(slices.Concat(secs[1], secs[2]), "\n"), `"`)
			for _, s := range secs {
				for _, line := range s {
					named = named || strings.Contains(err.Error(), line)
				}
			}
			if !named {
				t.Fatalf("parseTxn(%q): error %q names none of its lines", in, err)
			}
			return
		}
		if len(txn.If) != len(secs[0]) || len(txn.Then) != len(secs[1]) || len(txn.Else) != len(secs[2]) {
			t.Fatalf("parseTxn(%q) = %d/%d/%d operations, want one a line: %q", in, len(txn.If), len(txn.Then), len(txn.Else), secs)
		}
		var canon strings.Builder
		for _, s := range secs {
			for _, line := range s {
				canon.WriteString(line + "\n")
			}
			canon.WriteString("\n")
		}
		again, err := parseTxn(strings.NewReader(canon.String()))
		if err != nil {
			t.Fatalf("parseTxn(%q) accepted, its canonical form %q not: %v", in, canon.String(), err)
		}
		// Comparisons are plain values; requests carry options (functions), so their count and
		// their kind and key are compared (TestTxnRoundTrip compares whole requests).
		if !reflect.DeepEqual(txn.If, again.If) || len(txn.Then) != len(again.Then) || len(txn.Else) != len(again.Else) {
			t.Fatalf("parseTxn(%q) and its canonical form %q differ:\n%+v\n%+v", in, canon.String(), txn, again)
		}
	})
}

// FuzzTxnRoundTrip writes a comparison and requests built from fuzzed parts in etcdctl's
// syntax, each key and value quoted, and checks that they parse to what package etcd builds
// from the same parts.
func FuzzTxnRoundTrip(f *testing.F) {
	f.Add("k", "v", uint8(0), uint8(0), int64(3))
	f.Add("a b", "\"quoted\"\n", uint8(3), uint8(2), int64(-1))
	f.Add("\xff\x00", "", uint8(4), uint8(3), int64(0x7f))
	f.Fuzz(func(t *testing.T, key, value string, target, op uint8, n int64) {
		if key == "" || strings.HasPrefix(key, "-") || strings.HasPrefix(value, "-") {
			t.Skip("an empty key is refused and a word starting with - is a flag, in etcdctl too")
		}
		targets := []struct {
			name string
			num  func(etcd.KeyRange) etcd.NumberTarget
		}{{"ver", etcd.CompareVersion}, {"create", etcd.CompareCreateRevision}, {"mod", etcd.CompareModRevision}, {"lease", etcd.CompareLease}, {"val", nil}}
		tg := targets[int(target)%len(targets)]
		ops := []string{"=", "!=", "<", ">"}
		o := ops[int(op)%len(ops)]
		r := etcd.Key(key)
		var want etcd.Cmp
		var operand string
		if tg.num == nil {
			operand = strconv.Quote(value)
			v := etcd.CompareValue(r)
			want = map[string]func(string) etcd.Cmp{"=": v.Equal, "!=": v.NotEqual, "<": v.Less, ">": v.Greater}[o](value)
		} else {
			operand = strconv.Quote(strconv.FormatInt(n, 10))
			if tg.name == "lease" {
				operand = strconv.Quote(strconv.FormatInt(n, 16))
			}
			v := tg.num(r)
			want = map[string]func(int64) etcd.Cmp{"=": v.Equal, "!=": v.NotEqual, "<": v.Less, ">": v.Greater}[o](n)
		}
		in := fmt.Sprintf("%s(%s) %s %s\n\nput %s %s\n\ndel %s\n\n", tg.name, strconv.Quote(key), o, operand, strconv.Quote(key), strconv.Quote(value), strconv.Quote(key))
		txn, err := parseTxn(strings.NewReader(in))
		if err != nil {
			t.Fatalf("parseTxn(%q): %v", in, err)
		}
		wantTxn := etcd.Txn{If: []etcd.Cmp{want}, Then: []etcd.Op{etcd.OpPut(key, value)}, Else: []etcd.Op{etcd.OpDelete(r)}}
		// Printed, an empty value and a missing one are alike, as on the wire.
		if got, want := fmt.Sprintf("%+v", txn), fmt.Sprintf("%+v", wantTxn); got != want {
			t.Fatalf("parseTxn(%q) =\n%s\nwant\n%s", in, got, want)
		}
	})
}

// TestParseCompare checks the comparison syntax etcdctl documents.
func TestParseCompare(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{`mod("key1") > "0"`, true},
		{`ver("k") = "3"`, true},
		{`version("k") == "3"`, true},
		{`c("k") < "10"`, true},
		{`create("k") != "0"`, true},
		{`val("k") = "v a l"`, true},
		{"value(\"k\") > `raw`", true},
		{`lease("k") = "1234abcd"`, true},
		{`m("k") >= "1"`, false},
		{`ver("k") = "x"`, false},
		{`nope("k") = "1"`, false},
		{`val k = 1`, false},
		{`val("k")`, false},
		{`val("k") =`, false},
	} {
		_, err := parseCompare(tc.line)
		if (err == nil) != tc.ok {
			t.Errorf("parseCompare(%q): err %v, want ok=%v", tc.line, err, tc.ok)
		}
	}
}

// TestSplitArgs checks request-line quoting.
func TestSplitArgs(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`put k v`:               "put|k|v",
		`put k "a b\n"`:         "put|k|a b\n",
		`put 'k k' 'v "q"'`:     `put|k k|v "q"`,
		`  get   a  --prefix  `: "get|a|--prefix",
		`put k "unterminated`:   "put|k|unterminated",
		`del "x" --prev-kv`:     "del|x|--prev-kv",
	} {
		got, err := splitArgs(in)
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("splitArgs(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
