package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// kitBin is the etcdkit binary built for the tests, next to a copy of the test's environment.
var kitBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "etcdkit-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kitBin = filepath.Join(dir, "etcdkit")
	build := exec.Command("go", "build", "-o", kitBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building etcdkit:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of a program produced.
type result struct {
	stdout, stderr string
	code           int
}

// pair runs etcdctl 3.7.3 and etcdkit with the same arguments against one cluster.
type pair struct {
	t         *testing.T
	ctl       string
	cl        *etcdtest.Cluster
	endpoints string
	env       []string
}

func newPair(t *testing.T, opts etcdtest.Options) *pair {
	t.Helper()
	ctl := etcdtest.RequireBinary(t, "etcdctl", "v3.7.3")
	cl := etcdtest.StartCluster(t, opts)
	return &pair{t: t, ctl: ctl, cl: cl, endpoints: strings.Join(cl.Endpoints(), ",")}
}

// settle waits until every member reports its storage version, which a 3.6+ member writes
// shortly after it starts: endpoint status could otherwise change between the two programs'
// runs. args are global flags the cluster needs (certificates).
func (p *pair) settle(args ...string) {
	p.t.Helper()
	if strings.HasPrefix(p.cl.Version, "v3.4") || strings.HasPrefix(p.cl.Version, "v3.5") {
		return
	}
	args = append(slices.Clone(args), "endpoint", "status", "--cluster", "-w", "json")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := p.run(kitBin, "", args...)
		if r.code == 0 && strings.Count(r.stdout, `"storageVersion":"`) == len(p.cl.Members) {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the members report no storage version after 15 s: exit %d, %s%s", r.code, r.stdout, r.stderr)
		}
	}
}

// run runs one program with the cluster's endpoints, stdin and args.
func (p *pair) run(bin, stdin string, args ...string) result {
	p.t.Helper()
	cmd := p.command(bin, args)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return p.finish(cmd, cmd.Run(), &out, &errb)
}

// command prepares a run of bin, with the cluster's endpoints unless args name others.
func (p *pair) command(bin string, args []string) *exec.Cmd {
	if !slices.Contains(args, "--endpoints") {
		args = append([]string{"--endpoints", p.endpoints}, args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), p.env...)
	return cmd
}

func (p *pair) finish(cmd *exec.Cmd, err error, out, errb *bytes.Buffer) result {
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("running %s: %v", cmd.Path, err)
	}
	return result{out.String(), cleanStderr(errb.String()), code}
}

// background is a program left running while the test acts; its output is read line by line.
type background struct {
	p    *pair
	cmd  *exec.Cmd
	out  *bufio.Reader
	errb bytes.Buffer
}

// start runs bin in the background; the test's end kills it if it still runs.
func (p *pair) start(bin string, args ...string) *background {
	p.t.Helper()
	b := &background{p: p, cmd: p.command(bin, args)}
	pipe, err := b.cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	b.out = bufio.NewReader(pipe)
	b.cmd.Stderr = &b.errb
	if err := b.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { b.cmd.Process.Kill() })
	return b
}

// line reads the next line of output, failing the test after ten seconds.
func (b *background) line() string {
	b.p.t.Helper()
	return b.lineWithin(10 * time.Second)
}

// lineWithin reads the next line of output, failing the test after d.
func (b *background) lineWithin(d time.Duration) string {
	b.p.t.Helper()
	type read struct {
		s   string
		err error
	}
	ch := make(chan read, 1)
	go func() {
		s, err := b.out.ReadString('\n')
		ch <- read{s, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			b.p.t.Fatalf("%s: reading output: %v (stderr: %s)", b.cmd.Path, r.err, b.errb.String())
		}
		return r.s
	case <-time.After(d):
		b.p.t.Fatalf("%s: no output line within %s (stderr: %s)", b.cmd.Path, d, b.errb.String())
		return ""
	}
}

// interrupt sends SIGINT.
func (b *background) interrupt() { b.cmd.Process.Signal(os.Interrupt) }

// wait returns the rest of the output once the program exits.
func (b *background) wait() result {
	b.p.t.Helper()
	rest, _ := io.ReadAll(b.out)
	err := b.cmd.Wait()
	return b.p.finish(b.cmd, err, bytes.NewBuffer(rest), &b.errb)
}

func (p *pair) ctlRun(stdin string, args ...string) result { return p.run(p.ctl, stdin, args...) }
func (p *pair) kitRun(stdin string, args ...string) result { return p.run(kitBin, stdin, args...) }

// must runs etcdctl for a test's setup and fails the test if it fails.
func (p *pair) must(args ...string) string {
	p.t.Helper()
	r := p.ctlRun("", args...)
	if r.code != 0 {
		p.t.Fatalf("etcdctl %v: exit %d: %s", args, r.code, r.stderr)
	}
	return r.stdout
}

// revision is the store's current revision.
func (p *pair) revision() int64 {
	p.t.Helper()
	var resp struct {
		Header struct {
			Revision int64 `json:"revision"`
		} `json:"header"`
	}
	if err := json.Unmarshal([]byte(p.must("get", "-w", "json", "revision-probe")), &resp); err != nil {
		p.t.Fatal(err)
	}
	return resp.Header.Revision
}

// cleanStderr drops clientv3's JSON log lines, which etcdkit does not write, and names both
// programs alike.
func cleanStderr(s string) string {
	var keep []string
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, `{"level":`) {
			continue
		}
		keep = append(keep, strings.ReplaceAll(line, "etcdkit", "etcdctl"))
	}
	return strings.Join(keep, "")
}

// sameOutput compares two runs: exit codes and error lines equal, stdout byte-identical in
// simple format, equal as parsed JSON (after norm) in json format.
func sameOutput(t *testing.T, ctl, kit result, jsonOut bool, norm func(any) any) {
	t.Helper()
	if ctl.code != kit.code {
		t.Errorf("exit code: etcdctl %d, etcdkit %d\netcdctl stderr: %s\netcdkit stderr: %s", ctl.code, kit.code, ctl.stderr, kit.stderr)
	}
	if errorLine(ctl.stderr) != errorLine(kit.stderr) {
		t.Errorf("error:\netcdctl: %q\netcdkit: %q", errorLine(ctl.stderr), errorLine(kit.stderr))
	}
	if !jsonOut {
		if ctl.stdout != kit.stdout {
			t.Errorf("stdout differs:\n--- etcdctl\n%s--- etcdkit\n%s", ctl.stdout, kit.stdout)
		}
		return
	}
	var cv, kv any = parseJSONLines(t, ctl.stdout), parseJSONLines(t, kit.stdout)
	if norm != nil {
		cv, kv = norm(cv), norm(kv)
	}
	cb, _ := json.Marshal(cv)
	kb, _ := json.Marshal(kv)
	if !bytes.Equal(cb, kb) {
		t.Errorf("JSON differs:\netcdctl: %s\netcdkit: %s", cb, kb)
	}
}

// errorLine is the "Error: ..." line of a run's stderr, if any.
func errorLine(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "Error: ") {
			return line
		}
	}
	return ""
}

// parseJSONLines parses each line of out as JSON, numbers kept exact.
func parseJSONLines(t *testing.T, out string) []any {
	t.Helper()
	var vals []any
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("bad JSON %q: %v", out, err)
		}
		vals = append(vals, v)
	}
	return vals
}

// eachObject calls f on every JSON object within v, outermost first.
func eachObject(v any, f func(map[string]any)) any {
	switch x := v.(type) {
	case map[string]any:
		f(x)
		for _, e := range x {
			eachObject(e, f)
		}
	case []any:
		for _, e := range x {
			eachObject(e, f)
		}
	}
	return v
}

// rebase rewrites every revision in a parsed JSON value relative to base, so that two runs of
// the same writes from different starting revisions compare equal.
func rebase(base int64) func(any) any {
	return func(v any) any {
		return eachObject(v, func(m map[string]any) {
			for k, e := range m {
				if n, ok := e.(json.Number); ok && strings.HasSuffix(strings.ToLower(k), "revision") {
					if i, _ := n.Int64(); i > 0 {
						m[k] = json.Number(fmt.Sprint(i - base))
					}
				}
			}
		})
	}
}

// drop masks the named fields wherever they occur.
func drop(names ...string) func(any) any {
	return func(v any) any {
		return eachObject(v, func(m map[string]any) {
			for _, n := range names {
				if _, ok := m[n]; ok {
					m[n] = "<dropped>"
				}
			}
		})
	}
}

func isJSON(args []string) bool {
	for i, a := range args {
		if a == "-w=json" || a == "--write-out=json" || (i > 0 && a == "json" && (args[i-1] == "-w" || args[i-1] == "--write-out")) {
			return true
		}
	}
	return false
}

// readCase is a command run against unchanged data: both programs see the same state.
type readCase struct {
	name  string
	stdin string
	args  []string
	norm  func(any) any
	// mask rewrites parts of simple output that legitimately differ between two calls.
	mask func(string) string
	// fails is the exit code the case expects of both programs (0: both must succeed), and
	// errWant a text their "Error: " line must then contain.
	fails   int
	errWant string
}

func (p *pair) compareRead(tc readCase) {
	p.t.Run(tc.name, func(t *testing.T) {
		ctl := p.ctlRun(tc.stdin, tc.args...)
		kit := p.kitRun(tc.stdin, tc.args...)
		if tc.mask != nil {
			ctl.stdout, kit.stdout = tc.mask(ctl.stdout), tc.mask(kit.stdout)
			ctl.stderr, kit.stderr = tc.mask(ctl.stderr), tc.mask(kit.stderr)
		}
		sameOutput(t, ctl, kit, isJSON(tc.args), tc.norm)
		expectExit(t, ctl, kit, tc.fails, tc.errWant)
	})
}

// expectExit fails the test unless both runs exited with code, and, for a failure, printed an
// error line containing errWant: two programs failing alike do not make a passing case.
func expectExit(t *testing.T, ctl, kit result, code int, errWant string) {
	t.Helper()
	for _, r := range []struct {
		name string
		result
	}{{"etcdctl", ctl}, {"etcdkit", kit}} {
		line := errorLine(r.stderr)
		switch {
		case r.code != code:
			t.Errorf("%s: exit %d (%q), want %d", r.name, r.code, line, code)
		case code != 0 && (line == "" || !strings.Contains(line, errWant)):
			t.Errorf("%s: error line %q, want one containing %q", r.name, line, errWant)
		}
	}
}

// writeCase is a command that changes data: each program runs it on a freshly rebuilt state
// (every key deleted, then setup), and JSON revisions are compared relative to the revision
// before setup.
type writeCase struct {
	name  string
	setup [][]string
	stdin string
	args  []string
	mask  func(string) string
	// fails and errWant are what the case expects of both programs, as in readCase.
	fails   int
	errWant string
}

func (p *pair) compareWrite(tc writeCase) {
	p.t.Run(tc.name, func(t *testing.T) {
		runOn := func(bin string) (result, int64) {
			p.must("del", "", "--prefix")
			base := p.revision()
			for _, s := range tc.setup {
				p.must(s...)
			}
			return p.run(bin, tc.stdin, tc.args...), base
		}
		ctl, cbase := runOn(p.ctl)
		kit, kbase := runOn(kitBin)
		if tc.mask != nil {
			ctl.stdout, kit.stdout = tc.mask(ctl.stdout), tc.mask(kit.stdout)
		}
		if !isJSON(tc.args) {
			sameOutput(t, ctl, kit, false, nil)
			expectExit(t, ctl, kit, tc.fails, tc.errWant)
			return
		}
		cv, kv := rebase(cbase)(parseJSONLines(t, ctl.stdout)), rebase(kbase)(parseJSONLines(t, kit.stdout))
		cb, _ := json.Marshal(cv)
		kb, _ := json.Marshal(kv)
		if !bytes.Equal(cb, kb) {
			t.Errorf("JSON differs:\netcdctl: %s\netcdkit: %s", cb, kb)
		}
		if ctl.code != kit.code || errorLine(ctl.stderr) != errorLine(kit.stderr) {
			t.Errorf("etcdctl exit %d %q, etcdkit exit %d %q", ctl.code, errorLine(ctl.stderr), kit.code, errorLine(kit.stderr))
		}
		expectExit(t, ctl, kit, tc.fails, tc.errWant)
	})
}

var leaseHex = regexp.MustCompile(`[0-9a-f]{16}`)

func maskLeases(s string) string { return leaseHex.ReplaceAllString(s, "<lease>") }

// waitFor polls f until it holds or the deadline passes.
func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
