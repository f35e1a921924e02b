package main

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestCompareKV runs put, get, del and txn through etcdctl 3.7.3 and etcdkit on the same data.
func TestCompareKV(t *testing.T) {
	p := newPair(t, etcdtest.Options{})
	seed := [][]string{
		{"put", "a/1", "one"}, {"put", "a/2", "two"}, {"put", "a/3", "three"},
		{"put", "b", "bee"}, {"put", "a/1", "uno"}, {"put", "z", ""},
	}

	writes := []writeCase{
		{name: "put", args: []string{"put", "k", "v"}},
		{name: "put json", args: []string{"put", "k", "v", "-w", "json"}},
		{name: "put prev-kv", setup: seed, args: []string{"put", "a/1", "new", "--prev-kv"}},
		{name: "put prev-kv json", setup: seed, args: []string{"put", "--prev-kv", "-w=json", "a/1", "new"}},
		{name: "put from stdin", stdin: "from\nstdin\n", args: []string{"put", "k"}},
		{name: "put ignore-value", setup: seed, args: []string{"put", "b", "--ignore-value", "--prev-kv"}},
		{name: "put ignore-value missing key", fails: 1, errWant: "etcdserver: key not found", args: []string{"put", "nope", "--ignore-value"}},
		{name: "put ignore-lease", setup: seed, args: []string{"--write-out", "json", "put", "b", "x", "--ignore-lease"}},
		{name: "put bad lease", fails: 128, errWant: "bad lease ID (strconv.ParseInt: parsing \"zz\": invalid syntax), expecting ID in Hex", args: []string{"put", "k", "v", "--lease", "zz"}},
		{name: "put unknown lease", fails: 1, errWant: "etcdserver: requested lease not found", args: []string{"put", "k", "v", "--lease", "123"}},
		{name: "put no args", fails: 128, errWant: "put command needs 1 argument and input from stdin or 2 arguments", args: []string{"put"}},
		{name: "put ignore-value with value", fails: 128, errWant: "put command needs only 1 argument when 'ignore-value' is set", args: []string{"put", "k", "v", "--ignore-value"}},
		{name: "put dash value", args: []string{"put", "--", "k", "-v"}},
		{name: "del", setup: seed, args: []string{"del", "b"}},
		{name: "del missing", setup: seed, args: []string{"del", "nope"}},
		{name: "del prefix prev-kv", setup: seed, args: []string{"del", "a/", "--prefix", "--prev-kv"}},
		{name: "del prefix json", setup: seed, args: []string{"del", "--prefix", "a/", "--prev-kv", "-w", "json"}},
		{name: "del from-key", setup: seed, args: []string{"del", "--from-key", "a/3"}},
		{name: "del range", setup: seed, args: []string{"del", "a/2", "b", "--range", "--prev-kv"}},
		{name: "del all", setup: seed, args: []string{"del", "", "--prefix"}},
		{name: "del prefix and from-key", fails: 128, errWant: "`--prefix` and `--from-key` cannot be set at the same time, choose one", args: []string{"del", "a", "--prefix", "--from-key"}},
		{name: "del no args", fails: 128, errWant: "del command needs one argument as key and an optional argument as range_end", args: []string{"del"}},
		{name: "txn success", setup: seed,
			stdin: "val(\"b\") = \"bee\"\n\nput b \"new bee\"\nget a/ --prefix\ndel z\n\nput b failed\n\n",
			args:  []string{"txn"}},
		{name: "txn failure", setup: seed,
			stdin: "mod(\"b\") > \"100\"\nver(\"a/1\") = \"2\"\n\nput b x\n\nput c \"created\" --prev-kv\nget b\n\n",
			args:  []string{"txn"}},
		{name: "txn json", setup: seed,
			stdin: "create(\"a/2\") != \"0\"\n\nput a/2 22 --prev-kv\nget a/ --prefix --keys-only\ndel a/3 --prev-kv\n\n\n",
			args:  []string{"txn", "-w", "json"}},
		{name: "txn empty", stdin: "\n\n\n", args: []string{"txn"}},
		{name: "put fields", setup: seed, args: []string{"put", "a/1", "new", "--prev-kv", "-w", "fields"}, mask: maskRevisions},
		{name: "put fields no prev", args: []string{"put", "k", "v", "-w", "fields"}, mask: maskRevisions},
		{name: "del fields", setup: seed, args: []string{"del", "a/", "--prefix", "--prev-kv", "-w", "fields", "--hex"}, mask: maskRevisions},
		{name: "txn fields", setup: seed,
			stdin: "val(\"b\") = \"bee\"\n\nput b \"new bee\" --prev-kv\nget a/ --prefix\ndel z\n\n\n",
			args:  []string{"txn", "-w", "fields"}, mask: maskRevisions},
		{name: "put protobuf", setup: seed, args: []string{"put", "a/1", "new", "--prev-kv", "-w", "protobuf"}, mask: pbNumbersMasked},
		{name: "txn protobuf", setup: seed,
			stdin: "val(\"b\") = \"bee\"\n\nput b \"new bee\" --prev-kv\nget a/ --prefix --limit 2\ndel z --prev-kv\n\n\n",
			args:  []string{"txn", "-w", "protobuf"}, mask: pbNumbersMasked},
		{name: "txn failure protobuf", setup: seed, stdin: "val(\"b\") = \"x\"\n\n\nget b\n\n", args: []string{"txn", "-w", "protobuf"}, mask: pbNumbersMasked},
		{name: "del protobuf", setup: seed, args: []string{"del", "a/", "--prefix", "--prev-kv", "-w", "protobuf"}, mask: pbNumbersMasked},
		{name: "txn value less", setup: seed, stdin: "value(\"b\") < \"c\"\n\nget b\n\n\n", args: []string{"txn"}},
		{name: "txn bad compare", fails: 3, errWant: "malformed comparison: nope(\"b\") = \"1\" (unknown target nope)", stdin: "nope(\"b\") = \"1\"\n\n\n\n", args: []string{"txn"}},
		{name: "txn malformed compare", fails: 3, errWant: "malformed comparison: val b = 1", stdin: "val b = 1\n\n\n\n", args: []string{"txn"}},
		{name: "txn bad number", fails: 3, errWant: "invalid txn compare request: ver(\"b\") = \"x\"", stdin: "ver(\"b\") = \"x\"\n\n\n\n", args: []string{"txn"}},
		{name: "txn bad request", fails: 3, errWant: "invalid txn request: frob b", stdin: "\nfrob b\n\n\n", args: []string{"txn"}},
		{name: "txn short request", fails: 3, errWant: "invalid txn compare request: put", stdin: "\nput\n\n\n", args: []string{"txn"}},
		{name: "txn with argument", fails: 128, errWant: "txn command does not accept argument", stdin: "\n\n\n", args: []string{"txn", "x"}},
	}
	for _, tc := range writes {
		p.compareWrite(tc)
	}

	p.must("del", "", "--prefix")
	for _, s := range seed {
		p.must(s...)
	}
	reads := []readCase{
		{name: "get", args: []string{"get", "a/1"}},
		{name: "get missing", args: []string{"get", "nope"}},
		{name: "get empty value", args: []string{"get", "z"}},
		{name: "get json", args: []string{"get", "a/1", "-w", "json"}},
		{name: "get missing json", args: []string{"get", "nope", "-w", "json"}},
		{name: "get prefix", args: []string{"get", "--prefix", "a/"}},
		{name: "get prefix json", args: []string{"get", "--prefix", "a/", "-w", "json"}},
		{name: "get all", args: []string{"get", "", "--prefix"}},
		{name: "get from-key", args: []string{"get", "--from-key", "a/2"}},
		{name: "get range", args: []string{"get", "a/2", "z"}},
		{name: "get limit", args: []string{"get", "--prefix", "a/", "--limit", "2", "-w", "json"}},
		{name: "get limit=", args: []string{"get", "--prefix", "a/", "--limit=1"}},
		{name: "get rev", args: []string{"get", "a/1", "--rev", "0"}},
		{name: "get keys-only", args: []string{"get", "--prefix", "a/", "--keys-only"}},
		{name: "get keys-only json", args: []string{"get", "--prefix", "a/", "--keys-only", "-w", "json"}},
		{name: "get count-only", fails: 128, errWant: "--count-only is only for `--write-out=fields`", args: []string{"get", "--prefix", "a/", "--count-only"}},
		{name: "get count-only json", fails: 128, errWant: "--count-only is only for `--write-out=fields`", args: []string{"get", "--prefix", "a/", "--count-only", "-w", "json"}},
		{name: "get print-value-only", args: []string{"get", "--prefix", "a/", "--print-value-only"}},
		{name: "get print-value-only json", fails: 128, errWant: "print-value-only is only for `--write-out=simple`", args: []string{"get", "a/1", "--print-value-only", "-w", "json"}},
		{name: "get sort value descend", args: []string{"get", "--prefix", "a/", "--sort-by", "VALUE", "--order", "DESCEND"}},
		{name: "get sort create", args: []string{"get", "--prefix", "", "--sort-by=create"}},
		{name: "get sort modify json", args: []string{"get", "--prefix", "", "--sort-by=MODIFY", "-w", "json"}},
		{name: "get order descend", args: []string{"get", "--prefix", "a/", "--order=descend"}},
		{name: "get sort version", args: []string{"get", "--prefix", "", "--sort-by", "VERSION", "--order", "DESCEND", "--limit", "1"}},
		{name: "get serializable", args: []string{"get", "a/1", "--consistency", "s"}},
		{name: "get bad consistency", fails: 4, errWant: "unknown consistency flag \"x\"", args: []string{"get", "a/1", "--consistency", "x"}},
		{name: "get bad order", fails: 4, errWant: "bad sort order sideways", args: []string{"get", "a/1", "--order", "sideways"}},
		{name: "get bad sort", fails: 4, errWant: "bad sort target color", args: []string{"get", "a/1", "--sort-by", "color"}},
		{name: "get mod revs", args: []string{"get", "--prefix", "", "--min-mod-rev", "3", "--max-mod-rev", "6"}},
		{name: "get create revs", args: []string{"get", "--prefix", "", "--min-create-rev", "4"}},
		{name: "get bad mod revs", fails: 4, errWant: "getMinModRev(=6) > getMaxModRev(=3)", args: []string{"get", "--prefix", "", "--min-mod-rev", "6", "--max-mod-rev", "3"}},
		{name: "get future rev", fails: 1, errWant: "etcdserver: mvcc: required revision is a future revision", args: []string{"get", "a/1", "--rev", "100000"}},
		{name: "get no args", fails: 128, errWant: "get command needs one argument as key and an optional argument as range_end", args: []string{"get"}},
		{name: "get prefix and from-key", fails: 128, errWant: "`--prefix` and `--from-key` cannot be set at the same time, choose one", args: []string{"get", "a", "--prefix", "--from-key"}},
		{name: "get keys-only and count-only", fails: 128, errWant: "`--keys-only` and `--count-only` cannot be set at the same time, choose one", args: []string{"get", "a", "--keys-only", "--count-only"}},
		{name: "get prefix with range end", fails: 128, errWant: "too many arguments, only accept one argument when `--prefix` or `--from-key` is set", args: []string{"get", "a", "b", "--prefix"}},
		{name: "get hex", args: []string{"--hex", "get", "a/1"}},
		{name: "get flags first", args: []string{"-w", "json", "--command-timeout=3s", "get", "b"}},
		{name: "unknown command", fails: 1, errWant: "unknown command \"frobnicate\" for \"etcdctl\"", args: []string{"frobnicate"}},
		{name: "bad output format", fails: 4, errWant: "unsupported output format", args: []string{"get", "a", "-w", "yaml"}},
		{name: "get fields", args: []string{"get", "a/1", "-w", "fields"}},
		{name: "get prefix fields", args: []string{"get", "--prefix", "", "-w", "fields", "--limit", "3"}},
		{name: "get count-only fields", args: []string{"get", "--prefix", "a/", "--count-only", "-w", "fields"}},
		{name: "get fields hex", args: []string{"--hex", "get", "a/", "--prefix", "-w", "fields"}},
		{name: "get print-value-only fields", fails: 128, errWant: "print-value-only is only for `--write-out=simple`", args: []string{"get", "a/1", "--print-value-only", "-w", "fields"}},
		{name: "get missing fields", args: []string{"get", "nope", "-w", "fields"}},
		{name: "get table", fails: 4, errWant: "table not supported as output format", args: []string{"get", "a/1", "-w", "table"}},
		{name: "get protobuf", args: []string{"get", "", "--prefix", "-w", "protobuf"}},
		{name: "get limit protobuf", args: []string{"get", "a/", "--prefix", "--limit", "1", "-w", "protobuf"}},
		{name: "get missing protobuf", args: []string{"get", "nope", "-w", "protobuf"}},
		{name: "get count-only protobuf", fails: 128, errWant: "--count-only is only for `--write-out=fields`", args: []string{"get", "a/", "--prefix", "--count-only", "-w", "protobuf"}},
		// Deleting nothing leaves the revision as it was: both programs see the same header.
		{name: "del missing protobuf", args: []string{"del", "nope", "-w", "protobuf"}},
	}
	for _, tc := range reads {
		p.compareRead(tc)
	}
}

// TestUnknownFlag checks that a bad flag fails as etcdctl's does and prints usage.
func TestUnknownFlag(t *testing.T) {
	p := newPair(t, etcdtest.Options{})
	ctl, kit := p.ctlRun("", "get", "--foo", "a"), p.kitRun("", "get", "--foo", "a")
	if ctl.code != kit.code || errorLine(ctl.stderr) != errorLine(kit.stderr) {
		t.Errorf("etcdctl %d %q, etcdkit %d %q", ctl.code, errorLine(ctl.stderr), kit.code, errorLine(kit.stderr))
	}
	if !strings.Contains(kit.stderr, "Usage:") || !strings.Contains(kit.stderr, "--prefix") {
		t.Errorf("no usage after a bad flag:\n%s", kit.stderr)
	}
}

// maskRevisions hides the revisions in fields format, which differ between two runs of a
// write.
func maskRevisions(s string) string {
	return maskFieldNumbers(s, "Revision", "CreateRevision", "ModRevision", "PrevCreateRevision", "PrevModRevision")
}

// pbNumbersMasked renders protobuf output as text, every integer masked (revisions differ
// between two runs of a write): field numbers, nesting, keys and values are compared. A
// length-delimited field that parses as a message is shown as one.
func pbNumbersMasked(s string) string {
	var render func(b []byte) (string, bool)
	render = func(b []byte) (string, bool) {
		var out strings.Builder
		for len(b) > 0 {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				return "", false
			}
			b = b[n:]
			switch typ {
			case protowire.VarintType:
				_, n = protowire.ConsumeVarint(b)
				fmt.Fprintf(&out, "%d:N ", num)
			case protowire.BytesType:
				var v []byte
				v, n = protowire.ConsumeBytes(b)
				if inner, ok := render(v); ok && len(v) > 0 {
					fmt.Fprintf(&out, "%d:{%s} ", num, inner)
				} else {
					fmt.Fprintf(&out, "%d:%q ", num, v)
				}
			default:
				return "", false
			}
			if n < 0 {
				return "", false
			}
			b = b[n:]
		}
		return out.String(), true
	}
	text, ok := render([]byte(s))
	if !ok {
		return fmt.Sprintf("not protobuf: %q", s)
	}
	return text
}
