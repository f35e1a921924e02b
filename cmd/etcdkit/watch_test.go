package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestCompareWatch watches the same writes with both programs, from a fixed revision so that
// neither misses any, and compares what they print.
func TestCompareWatch(t *testing.T) {
	p := newPair(t, etcdtest.Options{Args: []string{"--watch-progress-notify-interval=200ms"}})
	for _, tc := range []struct {
		name  string
		args  []string
		lines int
	}{
		{"prefix", []string{"watch", "w/", "--prefix"}, 9},
		{"prev-kv", []string{"watch", "--prefix", "--prev-kv", "w/"}, 13},
		{"key", []string{"watch", "w/a"}, 6},
		{"range", []string{"watch", "w/a", "w/c"}, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rev := p.revision() + 1
			args := append(tc.args, fmt.Sprintf("--rev=%d", rev))
			ctl, kit := p.start(p.ctl, args...), p.start(kitBin, args...)
			p.must("put", "w/a", "1")
			p.must("put", "w/b", "two words")
			p.must("put", "w/a", "")
			p.must("del", "w/a")
			for range tc.lines {
				if c, k := ctl.line(), kit.line(); c != k {
					t.Fatalf("etcdctl printed %q, etcdkit %q", c, k)
				}
			}
			p.must("del", "w/", "--prefix")
		})
	}
	t.Run("exec", func(t *testing.T) {
		dir := t.TempDir()
		outs := make([]string, 2)
		for i, bin := range []string{p.ctl, kitBin} {
			rev := p.revision() + 1
			file := filepath.Join(dir, fmt.Sprint(i))
			bg := p.start(bin, "watch", "x", fmt.Sprintf("--rev=%d", rev), "--", "sh", "-c",
				`echo "$ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE" >> `+file+`; echo ran`)
			// One event at a time: etcdctl prints every event of a response before running
			// the commands, so two events arriving together would interleave otherwise.
			p.must("put", "x", "v 1")
			var got []string
			for range 4 {
				got = append(got, bg.line())
			}
			p.must("del", "x")
			for range 4 {
				got = append(got, bg.line())
			}
			var env []byte
			waitFor(t, "both commands", func() bool {
				env, _ = os.ReadFile(file)
				return strings.Count(string(env), "\n") == 2
			})
			outs[i] = strings.Join(got, "") + string(env)
		}
		if outs[0] != outs[1] {
			t.Errorf("etcdctl:\n%s\netcdkit:\n%s", outs[0], outs[1])
		}
	})
	// Nothing is written: each program's first notification names the current revision.
	for _, format := range []string{"simple", "json"} {
		t.Run("progress-notify "+format, func(t *testing.T) {
			ctl := p.start(p.ctl, "watch", "quiet", "--progress-notify", "-w", format)
			kit := p.start(kitBin, "watch", "quiet", "--progress-notify", "-w", format)
			lines := 1
			if format == "json" {
				lines = 2
			}
			for range lines {
				c, k := ctl.line(), kit.line()
				if strings.HasPrefix(c, "{") {
					// etcdkit's events carry only the revision of their header.
					cv := dropKey("cluster_id", "member_id", "raft_term")(parseJSONLines(t, c))
					cb, _ := json.Marshal(cv)
					kb, _ := json.Marshal(parseJSONLines(t, k))
					c, k = string(cb), string(kb)
				}
				if c != k {
					t.Errorf("etcdctl printed %q, etcdkit %q", c, k)
				}
			}
		})
	}
	for _, tc := range []readCase{
		{name: "no key", args: []string{"watch"}},
		{name: "separator without command", args: []string{"watch", "k", "--"}},
		{name: "prefix with range end", args: []string{"watch", "a", "b", "--prefix"}},
	} {
		p.compareRead(tc)
	}
}
