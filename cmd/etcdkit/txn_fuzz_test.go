package main

import (
	"strings"
	"testing"
)

// FuzzParseTxn feeds the transaction parser arbitrary input: it must never panic, and what
// it accepts must parse the same way twice. Seeds are in testdata/fuzz/FuzzParseTxn.
func FuzzParseTxn(f *testing.F) {
	f.Add("mod(\"key1\") > \"0\"\n\nput key1 \"overwrote-key1\"\n\nput key1 \"created-key1\"\nput key2 \"some extra key\"\n\n")
	f.Add("val(\"a\") = \"1\"\nlease(\"b\") != \"7f\"\n\nget a --prefix --limit 2\ndel 'x y' --prev-kv\n\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		t1, err1 := parseTxn(strings.NewReader(in))
		t2, err2 := parseTxn(strings.NewReader(in))
		if (err1 == nil) != (err2 == nil) || len(t1.If) != len(t2.If) || len(t1.Then) != len(t2.Then) || len(t1.Else) != len(t2.Else) {
			t.Fatalf("two parses of %q differ: %v / %v", in, err1, err2)
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
