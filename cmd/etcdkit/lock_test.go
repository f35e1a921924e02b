package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// lockKey is a lock or election key: the name, a slash, the session's lease in hex.
var lockKey = regexp.MustCompile(`^[a-z-]+/[0-9a-f]{1,16}\n$`)

var keyLease = regexp.MustCompile(`/[0-9a-f]{1,16}\b`)

// maskKeyLease hides the lease in a lock or election key.
func maskKeyLease(s string) string { return keyLease.ReplaceAllString(s, "/<lease>") }

// TestCompareLock compares lock's output with etcdctl's: the command form (its environment,
// exit status and errors), the holding form (the key's shape, releasing on SIGINT), and an
// interrupted wait.
func TestCompareLock(t *testing.T) {
	p := newPair(t, etcdtest.Options{})
	for _, tc := range []readCase{
		{name: "no name", fails: 128, errWant: "lock takes a lock name argument and an optional command to execute", args: []string{"lock"}},
		{name: "bad ttl", fails: 1, errWant: "invalid argument \"x\" for \"--ttl\" flag: strconv.ParseInt: parsing \"x\": invalid syntax", args: []string{"lock", "--ttl", "x", "l"}},
		{name: "command fails", fails: 3, errWant: "exit status 3", args: []string{"lock", "l", "--", "sh", "-c", "echo out; echo err >&2; exit 3"}},
		{name: "command missing", fails: 1, errWant: "exec: \"no-such-command-here\": executable file not found in $PATH", args: []string{"lock", "l", "no-such-command-here"}},
		{name: "command with ttl", args: []string{"lock", "--ttl", "5", "l", "--", "echo", "ran"}},
	} {
		p.compareRead(tc)
	}

	t.Run("environment", func(t *testing.T) {
		// ETCD_LOCK_REV is the lock's revision: uncontended, the one write that took the lock.
		outs := make([]string, 2)
		for i, bin := range []string{p.ctl, kitBin} {
			base := p.revision()
			r := p.run(bin, "", "lock", "env-lock", "--", "sh", "-c", `echo "$ETCD_LOCK_KEY"; echo "$ETCD_LOCK_REV"`)
			if r.code != 0 {
				t.Fatalf("%s: exit %d: %s", bin, r.code, r.stderr)
			}
			key, rev, _ := strings.Cut(r.stdout, "\n")
			if !lockKey.MatchString(key + "\n") {
				t.Errorf("%s: ETCD_LOCK_KEY = %q", bin, key)
			}
			var n int64
			fmt.Sscan(rev, &n)
			outs[i] = fmt.Sprintf("%s rev base+%d", maskKeyLease(key), n-base)
		}
		if outs[0] != outs[1] {
			t.Errorf("etcdctl: %s\netcdkit: %s", outs[0], outs[1])
		}
	})

	t.Run("hold until interrupted", func(t *testing.T) {
		for _, bin := range []string{p.ctl, kitBin} {
			bg := p.start(bin, "lock", "held-lock")
			key := bg.line()
			if !lockKey.MatchString(key) || !strings.HasPrefix(key, "held-lock/") {
				t.Fatalf("%s printed %q, want the lock's key", bin, key)
			}
			if empty := bg.line(); empty != "\n" {
				t.Fatalf("%s printed %q after the key, want its empty value", bin, empty)
			}
			if got := p.must("get", "--prefix", "held-lock/", "--keys-only"); got != key+"\n" {
				t.Errorf("%s holds %q, the store has %q", bin, key, got)
			}
			bg.interrupt()
			if r := bg.wait(); r.code != 0 || r.stdout != "" {
				t.Errorf("%s after SIGINT: exit %d, stdout %q, stderr %q", bin, r.code, r.stdout, r.stderr)
			}
			if got := p.must("get", "--prefix", "held-lock/"); got != "" {
				t.Errorf("%s left %q behind after unlocking", bin, got)
			}
		}
	})

	t.Run("hold fields", func(t *testing.T) {
		// The key, as get prints it in fields format: its revisions and lease masked.
		var outs []string
		for _, bin := range []string{p.ctl, kitBin} {
			bg := p.start(bin, "lock", "fields-lock", "-w", "fields")
			var out strings.Builder
			for range 12 { // header (4), key-value (6), More and Count
				out.WriteString(bg.line())
			}
			bg.interrupt()
			bg.wait()
			outs = append(outs, maskKeyLease(maskFieldNumbers(out.String(), "Revision", "CreateRevision", "ModRevision", "Lease")))
		}
		if outs[0] != outs[1] {
			t.Errorf("etcdctl printed:\n%s\netcdkit printed:\n%s", outs[0], outs[1])
		}
	})

	t.Run("interrupted while waiting", func(t *testing.T) {
		holder := p.start(kitBin, "lock", "busy-lock")
		holder.line()
		var rs []result
		for _, bin := range []string{p.ctl, kitBin} {
			bg := p.start(bin, "lock", "busy-lock", "--", "echo", "never")
			waitFor(t, "a waiter's key", func() bool {
				return strings.Count(p.must("get", "--prefix", "busy-lock/", "--keys-only"), "\n\n") == 2
			})
			bg.interrupt()
			rs = append(rs, bg.wait())
		}
		sameOutput(t, rs[0], rs[1], false, nil)
		if rs[1].code != exitError || errorLine(rs[1].stderr) != "Error: context canceled" {
			t.Errorf("interrupted waiter: exit %d, %q", rs[1].code, rs[1].stderr)
		}
		holder.interrupt()
		holder.wait()
	})
}

// TestLockExclusive runs etcdkit lock processes against each other: a waiter's command starts
// only once the holder lets go, and commands under the lock never overlap.
func TestLockExclusive(t *testing.T) {
	p := newPair(t, etcdtest.Options{})
	dir := t.TempDir()

	t.Run("waits for the holder", func(t *testing.T) {
		holder := p.start(kitBin, "lock", "x-lock")
		holder.line()
		ran := filepath.Join(dir, "ran")
		waiter := p.start(kitBin, "lock", "x-lock", "--", "touch", ran)
		time.Sleep(500 * time.Millisecond)
		if _, err := os.Stat(ran); err == nil {
			t.Fatal("the waiter ran its command while the lock was held")
		}
		holder.interrupt()
		if r := waiter.wait(); r.code != 0 {
			t.Fatalf("waiter: exit %d: %s", r.code, r.stderr)
		}
		if _, err := os.Stat(ran); err != nil {
			t.Fatal("the waiter's command did not run after the holder let go")
		}
		holder.wait()
	})

	t.Run("never two holders", func(t *testing.T) {
		// mkdir fails when the directory exists: a second holder inside exits 9.
		held, log := filepath.Join(dir, "held"), filepath.Join(dir, "log")
		script := fmt.Sprintf(`mkdir %[1]s || exit 9; echo "$ETCD_LOCK_KEY" >> %[2]s; sleep 0.1; rmdir %[1]s`, held, log)
		const procs, rounds = 2, 4
		var wg sync.WaitGroup
		errs := make(chan string, procs*rounds)
		for range procs {
			wg.Go(func() {
				for range rounds {
					if r := p.kitRun("", "lock", "--ttl", "5", "x-lock", "--", "sh", "-c", script); r.code != 0 {
						errs <- fmt.Sprintf("exit %d: %s", r.code, r.stderr)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		b, _ := os.ReadFile(log)
		if n := strings.Count(string(b), "\n"); n != procs*rounds {
			t.Errorf("%d commands ran under the lock, want %d", n, procs*rounds)
		}
	})
}

// TestCompareElect compares elect with etcdctl's: the campaign's output and resignation, the
// argument errors, and what observers of both programs print for the same elections.
func TestCompareElect(t *testing.T) {
	p := newPair(t, etcdtest.Options{})
	for _, tc := range []readCase{
		{name: "no name", fails: 128, errWant: "elect takes one election name argument and an optional proposal argument", args: []string{"elect"}},
		{name: "no proposal", fails: 128, errWant: "no proposal argument but -l not set", args: []string{"elect", "e"}},
		{name: "proposal and listen", fails: 128, errWant: "proposal given but -l is set", args: []string{"elect", "-l", "e", "p"}},
		{name: "too many", fails: 128, errWant: "elect takes one election name argument and an optional proposal argument", args: []string{"elect", "e", "p", "q"}},
	} {
		p.compareRead(tc)
	}

	t.Run("campaign", func(t *testing.T) {
		outs := make([]string, 2)
		for i, bin := range []string{p.ctl, kitBin} {
			bg := p.start(bin, "elect", "camp", "proposal one")
			key, value := bg.line(), bg.line()
			if !lockKey.MatchString(key) {
				t.Errorf("%s printed key %q", bin, key)
			}
			bg.interrupt()
			r := bg.wait()
			outs[i] = fmt.Sprintf("%s%s%s exit %d %s", maskKeyLease(key), value, r.stdout, r.code, errorLine(r.stderr))
			if got := p.must("get", "--prefix", "camp/"); got != "" {
				t.Errorf("%s did not resign: %q", bin, got)
			}
		}
		if outs[0] != outs[1] {
			t.Errorf("etcdctl:\n%s\netcdkit:\n%s", outs[0], outs[1])
		}
	})

	// A leader prints a get of its key: the header whole, revisions relative to the state
	// before; the key and lease differ between the two sessions.
	for _, format := range []string{"json", "fields", "protobuf"} {
		t.Run("campaign "+format, func(t *testing.T) {
			var outs [2]string
			for i, bin := range []string{p.ctl, kitBin} {
				base := p.revision()
				c := p.collect(bin, "elect", "camp", "proposal one", "-w", format)
				waitFor(t, "the leader's output", func() bool {
					out := c.out.String()
					return format == "protobuf" && out != "" || strings.HasSuffix(out, "\n") && (format != "fields" || strings.Contains(out, `"Count"`))
				})
				c.cmd.Process.Signal(os.Interrupt)
				if err := c.cmd.Wait(); err != nil {
					t.Errorf("%s: %v after SIGINT: %s", bin, err, c.errb.String())
				}
				outs[i] = c.out.String()
				switch format {
				case "json":
					v := dropKey("key", "lease")(rebase(base)(parseJSONLines(t, outs[i])))
					b, _ := json.Marshal(v)
					outs[i] = string(b)
				case "fields":
					outs[i] = maskKeyLease(rebaseFields(base, maskFieldNumbers(outs[i], "Lease")))
				case "protobuf":
					outs[i] = maskKeyLease(pbNumbersMasked(outs[i]))
				}
			}
			if outs[0] != outs[1] {
				t.Errorf("etcdctl:\n%s\netcdkit:\n%s", outs[0], outs[1])
			}
		})
	}

	t.Run("observe", func(t *testing.T) {
		// Both programs observe the same election while etcdkit and etcdctl candidates take
		// turns: they must print the same leaders in the same order, with the same headers.
		obs := []*background{p.start(p.ctl, "elect", "-l", "obs"), p.start(kitBin, "elect", "-l", "obs")}
		formats := []string{"json", "fields", "protobuf"}
		var others [][2]*collected
		for _, f := range formats {
			others = append(others, [2]*collected{p.collect(p.ctl, "elect", "-l", "obs", "-w", f), p.collect(kitBin, "elect", "-l", "obs", "-w", f)})
		}
		alice := p.start(kitBin, "elect", "obs", "alice")
		aliceKey := alice.line()
		alice.line()
		var got [2]string
		for i := range 2 {
			got[i] = obs[i].line() + obs[i].line()
		}
		for _, o := range others {
			waitFor(t, "every observer to print alice", func() bool { return o[0].len() > 0 && o[1].len() > 0 })
		}
		bob := p.start(p.ctl, "elect", "obs", "bob")
		waitFor(t, "bob's candidacy", func() bool {
			return strings.Count(p.must("get", "--prefix", "obs/", "--keys-only"), "\n\n") == 2
		})
		alice.interrupt()
		alice.wait()
		bobKey := bob.line()
		bob.line()
		want := aliceKey + "alice\n" + bobKey + "bob\n"
		for i, o := range obs {
			got[i] += o.line() + o.line()
			if got[i] != want {
				t.Errorf("%s observed:\n%s\nwant:\n%s", o.cmd.Path, got[i], want)
			}
		}
		for i, o := range others {
			sameEventually(t, formats[i], o[0], o[1], nil)
		}
		// Observers started under a leader print it first, with the header of a read.
		late := [2]*collected{p.collect(p.ctl, "elect", "-l", "obs", "-w", "json"), p.collect(kitBin, "elect", "-l", "obs", "-w", "json")}
		sameEventually(t, "json", late[0], late[1], nil)
		others = append(others, late)
		bob.interrupt()
		bob.wait()
		for _, o := range obs {
			o.interrupt()
			if r := o.wait(); r.code != 0 {
				t.Errorf("%s: exit %d after SIGINT: %s", o.cmd.Path, r.code, r.stderr)
			}
		}
		for _, o := range others {
			for _, c := range o {
				c.cmd.Process.Signal(os.Interrupt)
				if err := c.cmd.Wait(); err != nil {
					t.Errorf("%s: %v after SIGINT: %s", c.cmd.Path, err, c.errb.String())
				}
			}
		}
	})
}

var fieldsRevision = regexp.MustCompile(`(?m)^("\w*Revision" : )(\d+)$`)

// rebaseFields writes the revisions of fields output relative to base.
func rebaseFields(base int64, s string) string {
	return fieldsRevision.ReplaceAllStringFunc(s, func(m string) string {
		sub := fieldsRevision.FindStringSubmatch(m)
		var n int64
		fmt.Sscan(sub[2], &n)
		return fmt.Sprintf("%sbase+%d", sub[1], n-base)
	})
}
