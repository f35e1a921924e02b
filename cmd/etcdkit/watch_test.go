package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// watchWrite is one write a watch test makes, with etcdctl: its arguments, and its stdin for
// a txn.
type watchWrite struct {
	args  []string
	stdin string
}

func put(k, v string) watchWrite { return watchWrite{args: []string{"put", k, v}} }

// txnPuts is a transaction writing two keys: one response holding two events.
func txnPuts(k1, v1, k2, v2 string) watchWrite {
	return watchWrite{args: []string{"txn"}, stdin: fmt.Sprintf("\nput %s %q\nput %s %q\n\n\n", k1, v1, k2, v2)}
}

// TestCompareWatch watches the same writes with both programs at once, from a fixed revision
// so that neither misses any, in every format, and compares what they print: headers whole
// (both talk to the one member), events grouped by response. Each write waits until both
// have printed something of the previous one, so etcd sends every write in its own response
// to both.
func TestCompareWatch(t *testing.T) {
	p := newPair(t, etcdtest.Options{Args: []string{"--watch-progress-notify-interval=200ms"}})
	prefixWrites := []watchWrite{
		put("w/a", "1"), put("w/b", "two words"), txnPuts("w/x", "1", "w/y", "2"), put("w/a", ""),
		{args: []string{"del", "w/a"}}, {args: []string{"del", "w/", "--prefix"}},
	}
	cases := []struct {
		name   string
		args   []string
		writes []watchWrite
	}{
		{"prefix", []string{"watch", "w/", "--prefix"}, prefixWrites},
		{"prev-kv", []string{"watch", "--prefix", "--prev-kv", "w/"}, prefixWrites},
		{"hex", []string{"--hex", "watch", "--prefix", "--prev-kv", "w/"}, prefixWrites},
		{"key", []string{"watch", "w/a"}, []watchWrite{put("w/a", "1"), put("w/a", ""), {args: []string{"del", "w/a"}}}},
		{"range", []string{"watch", "w/a", "w/c"}, []watchWrite{
			put("w/a", "1"), put("w/b", "two words"), txnPuts("w/a", "2", "w/b", "3"), {args: []string{"del", "w/a"}},
		}},
	}
	for _, format := range []string{"simple", "json", "fields", "protobuf"} {
		for _, tc := range cases {
			t.Run(format+" "+tc.name, func(t *testing.T) {
				p.must("del", "w/", "--prefix")
				args := append(tc.args, fmt.Sprintf("--rev=%d", p.revision()+1), "-w", format)
				ctl, kit := p.collect(p.ctl, args...), p.collect(kitBin, args...)
				for _, w := range tc.writes {
					n := [2]int{ctl.len(), kit.len()}
					if r := p.ctlRun(w.stdin, w.args...); r.code != 0 {
						t.Fatalf("etcdctl %v: exit %d: %s", w.args, r.code, r.stderr)
					}
					waitFor(t, fmt.Sprintf("both watches to print %v", w.args), func() bool {
						return ctl.len() > n[0] && kit.len() > n[1]
					})
				}
				sameEventually(t, format, ctl, kit, nil)
			})
		}
	}

	t.Run("exec", func(t *testing.T) {
		dir := t.TempDir()
		outs := make([]string, 2)
		for i, bin := range []string{p.ctl, kitBin} {
			base := p.revision()
			file := filepath.Join(dir, fmt.Sprint(i))
			bg := p.start(bin, "watch", "x", "--prefix", fmt.Sprintf("--rev=%d", base+1), "--", "sh", "-c",
				`echo "$ETCD_WATCH_REVISION $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE" >> `+file+`; echo ran`)
			var got []string
			for _, step := range []struct {
				w     watchWrite
				lines int
			}{
				{put("x", "v 1"), 4},
				// One response, two events: both printed, then the command run for each,
				// with the response's revision.
				{txnPuts("x/1", "a", "x/2", "b"), 8},
				{watchWrite{args: []string{"del", "x"}}, 4},
			} {
				if r := p.ctlRun(step.w.stdin, step.w.args...); r.code != 0 {
					t.Fatalf("etcdctl %v: exit %d: %s", step.w.args, r.code, r.stderr)
				}
				for range step.lines {
					got = append(got, bg.line())
				}
			}
			var env []byte
			waitFor(t, "every command", func() bool {
				env, _ = os.ReadFile(file)
				return strings.Count(string(env), "\n") == 4
			})
			outs[i] = strings.Join(got, "") + rebaseLines(base, string(env))
			bg.cmd.Process.Kill()
			p.must("del", "x", "--prefix")
		}
		if outs[0] != outs[1] {
			t.Errorf("etcdctl:\n%s\netcdkit:\n%s", outs[0], outs[1])
		}
	})

	// Nothing is written: every notification names the current revision, so both programs'
	// first ones are the same whenever they come.
	for _, format := range []string{"simple", "json", "fields", "protobuf"} {
		t.Run("progress-notify "+format, func(t *testing.T) {
			ctl := p.collect(p.ctl, "watch", "quiet", "--progress-notify", "-w", format)
			kit := p.collect(kitBin, "watch", "quiet", "--progress-notify", "-w", format)
			first := func(s string) string { return firstProgress(t, format, s) }
			sameEventually(t, format, ctl, kit, first)
		})
	}

	for _, tc := range []readCase{
		{name: "no key", fails: 128, errWant: "bad number of arguments", args: []string{"watch"}},
		{name: "separator without command", fails: 128, errWant: "bad number of arguments (found separator --, but no commands)", args: []string{"watch", "k", "--"}},
		{name: "prefix with range end", fails: 128, errWant: "`range_end` and `--prefix` are mutually exclusive", args: []string{"watch", "a", "b", "--prefix"}},
	} {
		p.compareRead(tc)
	}

	// A start revision that was compacted: etcd cancels the watch, and both print the
	// cancelling response and fail alike.
	p.must("put", "w/c", "1")
	p.must("compact", fmt.Sprint(p.revision()))
	for _, format := range []string{"simple", "json", "fields", "protobuf"} {
		p.compareRead(readCase{name: "compacted " + format, fails: exitInterrupted, errWant: "watch is canceled by the server", args: []string{"watch", "w/", "--prefix", "--rev=1", "-w", format}})
	}
}

var progressLine = regexp.MustCompile(`progress notify: \d+\n`) // unanchored: in protobuf it follows binary

// firstProgress cuts a watch's output after its first progress notification whole: the line,
// then the response in format; "" while it has not all come.
func firstProgress(t *testing.T, format, s string) string {
	loc := progressLine.FindAllStringIndex(s, 2)
	switch {
	case len(loc) == 0:
		return ""
	case format == "simple":
		return s[:loc[0][1]]
	case len(loc) == 2:
		return s[:loc[1][0]]
	}
	// The last notification: complete once its response is (a header alone).
	rest := s[loc[0][1]:]
	switch format {
	case "json":
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			return s[:loc[0][1]+i+1]
		}
	case "fields":
		if i := strings.Index(rest, `"RaftTerm" :`); i >= 0 && strings.Contains(rest[i:], "\n") {
			return s
		}
	case "protobuf":
		// One field, the header: a tag byte, a one-byte length, the header.
		if len(rest) >= 2 && len(rest) >= 2+int(rest[1]) {
			return s[:loc[0][1]+2+int(rest[1])]
		}
	}
	return ""
}

var leadingNumber = regexp.MustCompile(`(?m)^\d+`)

// rebaseLines writes the number starting each line relative to base.
func rebaseLines(base int64, s string) string {
	return leadingNumber.ReplaceAllStringFunc(s, func(m string) string {
		var n int64
		fmt.Sscan(m, &n)
		return fmt.Sprintf("base+%d", n-base)
	})
}

// collected is a program left running whose whole output is kept as it comes, reading what
// the test sends; the test's end kills it if it still runs.
type collected struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	out, errb lockedBuffer
}

func (p *pair) collect(bin string, args ...string) *collected {
	p.t.Helper()
	c := &collected{cmd: p.command(bin, args)}
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.errb
	stdin, err := c.cmd.StdinPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	c.stdin = stdin
	if err := c.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		c.cmd.Process.Kill()
		c.cmd.Wait()
	})
	return c
}

func (c *collected) len() int { return len(c.out.String()) }

// sameEventually waits until ctl and kit have printed the same (after cut, which may return
// "" for output not yet complete): equal as parsed JSON lines in json format, byte for byte
// in the others. It fails with both outputs after ten seconds.
func sameEventually(t *testing.T, format string, ctl, kit *collected, cut func(string) string) {
	t.Helper()
	var c, k string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, k = ctl.out.String(), kit.out.String()
		if cut != nil {
			c, k = cut(c), cut(k)
		}
		if c != "" && sameText(format, c, k) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	if format == "protobuf" {
		c, k = fmt.Sprintf("%q", c), fmt.Sprintf("%q", k)
	}
	t.Errorf("outputs differ:\n--- etcdctl (stderr %s)\n%s\n--- etcdkit (stderr %s)\n%s", ctl.errb.String(), c, kit.errb.String(), k)
}

// sameText compares two outputs of format: in json, line by line, each JSON object as parsed
// (numbers exact) and other lines (progress notifications, a command's output) as text;
// byte for byte otherwise.
func sameText(format, c, k string) bool {
	if format != "json" {
		return c == k
	}
	norm := func(s string) (string, bool) {
		if !strings.HasSuffix(s, "\n") {
			return "", false // not all written yet
		}
		lines := strings.SplitAfter(s, "\n")
		for i, l := range lines {
			if !strings.HasPrefix(l, "{") {
				continue
			}
			dec := json.NewDecoder(strings.NewReader(l))
			dec.UseNumber()
			var v any
			if dec.Decode(&v) != nil {
				return "", false
			}
			b, _ := json.Marshal(v)
			lines[i] = string(b) + "\n"
		}
		return strings.Join(lines, ""), true
	}
	cn, cok := norm(c)
	kn, kok := norm(k)
	return cok && kok && cn == kn
}
