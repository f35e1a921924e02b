package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestCompareWatchInteractive feeds the same commands and writes to etcdctl's and etcdkit's
// watch --interactive and compares what they print: three watches (one key, a prefix with
// previous values, three keys of which only the first counts), a progress request answered
// by each watch, a watch running a command, and the lines etcdctl rejects, then the end of
// stdin. Each write goes to one watch and is read back before the next, and watches start
// at a fixed revision, so the output's order is fixed.
func TestCompareWatchInteractive(t *testing.T) {
	p := newPair(t, etcdtest.Options{})
	var outs, errs [2]string
	var codes [2]int
	for i, bin := range []string{p.ctl, kitBin} {
		p.must("del", "", "--prefix")
		base := p.revision()
		rev := fmt.Sprintf("--rev=%d", base+1)
		s := p.startInteractive(bin, "watch", "--interactive")
		var got []string
		step := func(lines int, cmdline ...string) {
			t.Helper()
			if len(cmdline) == 1 {
				s.send(cmdline[0])
			} else if len(cmdline) > 1 {
				p.must(cmdline...)
			}
			for range lines {
				got = append(got, s.line())
			}
		}
		for _, l := range []string{"progress", "", "bogus cmd", "watch", "watch a b --prefix",
			"watch w/a " + rev, "watch --prefix p/ --prev-kv " + rev, "watch x1 x2 x3 " + rev} {
			s.send(l)
		}
		step(3, "put", "w/a", "1")
		step(3, "put", "p/b", "2")
		step(5, "put", "p/b", "3")
		step(0, "put", "x2", "not watched")
		step(3, "put", "x1", "4")
		// etcd drops a progress request while a watch is still catching up from its start
		// revision (it syncs those every 100 ms): ask until the three watches answer.
		for attempt := 0; ; attempt++ {
			s.send("progress")
			l, ok := s.next(time.Second)
			if ok {
				got = append(got, l, s.line(), s.line())
				break
			}
			if attempt == 10 {
				t.Fatalf("%s: no answer to 10 progress requests", bin)
			}
		}
		step(0, "watch y -- sh -c 'echo ran $ETCD_WATCH_KEY' "+rev)
		step(4, "put", "y", "yy")
		step(3, "del", "w/a")
		res := s.close()
		outs[i] = maskProgress(base, strings.Join(got, "")+res.stdout)
		errs[i], codes[i] = res.stderr, res.code
	}
	if outs[0] != outs[1] {
		t.Errorf("stdout differs:\n--- etcdctl\n%s--- etcdkit\n%s", outs[0], outs[1])
	}
	if errs[0] != errs[1] || codes[0] != codes[1] {
		t.Errorf("etcdctl exit %d, stderr:\n%s\netcdkit exit %d, stderr:\n%s", codes[0], errs[0], codes[1], errs[1])
	}

	for _, tc := range []readCase{
		{name: "unknown flag", fails: 128, errWant: "unknown flag: --bogus", stdin: "watch k --bogus\nwatch k\n", args: []string{"watch", "-i"}},
		{name: "separator without command", fails: 128, errWant: "bad number of arguments (found separator --, but no commands)", stdin: "watch k --\n", args: []string{"watch", "-i"}},
		{name: "flags without key", fails: 128, errWant: "bad number of arguments", stdin: "watch --prefix\n", args: []string{"watch", "-i"}},
		{name: "last line unterminated", fails: 3, errWant: "error reading watch request line: EOF", stdin: "bogus\nwatch k", args: []string{"watch", "--interactive"}},
		{name: "nothing", fails: 3, errWant: "error reading watch request line: EOF", args: []string{"watch", "-i", "ignored/key"}},
	} {
		p.compareRead(tc)
	}
	p.env = []string{"ETCDCTL_WATCH_KEY=env/k"}
	p.compareRead(readCase{name: "key also in environment", fails: 128, errWant: "bad number of arguments (found conflicting environment key)", stdin: "watch\nwatch other\n", args: []string{"watch", "-i"}})
}

// TestCompareWatchInteractiveFormats runs etcdctl's and etcdkit's watch --interactive side
// by side in json, fields and protobuf on the same writes and compares what they print:
// whole responses with their headers (a transaction's two events in one), the answers to a
// progress request, a watch running a command, then the end of stdin.
func TestCompareWatchInteractiveFormats(t *testing.T) {
	p := newPair(t, etcdtest.Options{})
	for _, format := range []string{"json", "fields", "protobuf"} {
		t.Run(format, func(t *testing.T) {
			p.must("del", "", "--prefix")
			rev := fmt.Sprintf("--rev=%d", p.revision()+1)
			progs := [2]*collected{p.collect(p.ctl, "watch", "-i", "-w", format), p.collect(kitBin, "watch", "-i", "-w", format)}
			send := func(line string) {
				t.Helper()
				for _, c := range progs {
					if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
						t.Fatal(err)
					}
				}
			}
			write := func(w watchWrite) {
				t.Helper()
				n := [2]int{progs[0].len(), progs[1].len()}
				if r := p.ctlRun(w.stdin, w.args...); r.code != 0 {
					t.Fatalf("etcdctl %v: exit %d: %s", w.args, r.code, r.stderr)
				}
				waitFor(t, fmt.Sprintf("both to print %v", w.args), func() bool {
					return progs[0].len() > n[0] && progs[1].len() > n[1]
				})
			}
			send("watch w/a " + rev)
			send("watch --prefix p/ --prev-kv " + rev)
			write(put("w/a", "1"))
			write(put("p/b", "2"))
			write(txnPuts("p/c", "3", "p/d", "4"))
			write(put("p/b", "5"))
			write(watchWrite{args: []string{"del", "w/a"}})
			// Each program asks until both its watches answer (etcd drops a request while a
			// watch still catches up from its start revision).
			for _, c := range progs {
				for attempt := 0; strings.Count(c.out.String(), "progress notify") < 2; attempt++ {
					if attempt == 10 {
						t.Fatalf("%s: no answer to 10 progress requests", c.cmd.Path)
					}
					io.WriteString(c.stdin, "progress\n")
					deadline := time.Now().Add(time.Second)
					for time.Now().Before(deadline) && strings.Count(c.out.String(), "progress notify") < 2 {
						time.Sleep(20 * time.Millisecond)
					}
				}
			}
			send("watch y -- sh -c 'echo ran $ETCD_WATCH_KEY' " + rev)
			write(put("y", "yy"))
			// etcdctl's watches print a notification's line and its response in two writes,
			// unsynchronized: another watch's may come between. The lines are counted apart.
			apart := func(s string) string {
				n := len(progressLine.FindAllString(s, -1))
				return fmt.Sprintf("%d progress notifications\n", n) + progressLine.ReplaceAllString(s, "")
			}
			sameEventually(t, format, progs[0], progs[1], apart)
			var codes [2]int
			for i, c := range progs {
				c.stdin.Close()
				if err := c.cmd.Wait(); err != nil {
					codes[i] = c.cmd.ProcessState.ExitCode()
				}
			}
			if codes[0] != codes[1] || cleanStderr(progs[0].errb.String()) != cleanStderr(progs[1].errb.String()) {
				t.Errorf("etcdctl exit %d, stderr:\n%s\netcdkit exit %d, stderr:\n%s", codes[0], progs[0].errb.String(), codes[1], progs[1].errb.String())
			}
		})
	}
}

var progressRE = regexp.MustCompile(`progress notify: (\d+)`)

// maskProgress writes the revisions of progress notifications relative to base.
func maskProgress(base int64, s string) string {
	return progressRE.ReplaceAllStringFunc(s, func(m string) string {
		var n int64
		fmt.Sscan(progressRE.FindStringSubmatch(m)[1], &n)
		return fmt.Sprintf("progress notify: base+%d", n-base)
	})
}

// interactive is a program reading commands from a pipe while the test acts; its output is
// read line by line.
type interactive struct {
	t     *testing.T
	p     *pair
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // stdout's lines, closed at its end
	errb  lockedBuffer
}

func (p *pair) startInteractive(bin string, args ...string) *interactive {
	p.t.Helper()
	s := &interactive{t: p.t, p: p, cmd: p.command(bin, args), lines: make(chan string, 100)}
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	s.stdin, s.cmd.Stderr = stdin, &s.errb
	if err := s.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { s.cmd.Process.Kill() })
	go func() {
		defer close(s.lines)
		r := bufio.NewReader(out)
		for {
			l, err := r.ReadString('\n')
			if l != "" {
				s.lines <- l
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

func (s *interactive) send(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.stdin, line+"\n"); err != nil {
		s.t.Fatal(err)
	}
}

// next returns the next line of output, or false when none comes within d.
func (s *interactive) next(d time.Duration) (string, bool) {
	select {
	case l, ok := <-s.lines:
		return l, ok
	case <-time.After(d):
		return "", false
	}
}

// line returns the next line of output, failing the test after ten seconds.
func (s *interactive) line() string {
	s.t.Helper()
	l, ok := s.next(10 * time.Second)
	if !ok {
		s.t.Fatalf("%s: no output line within 10s (stderr: %s)", s.cmd.Path, s.errb.String())
	}
	return l
}

// close ends stdin and returns the rest of the output once the program exits.
func (s *interactive) close() result {
	s.stdin.Close()
	var rest strings.Builder
	for l := range s.lines {
		rest.WriteString(l)
	}
	err := s.cmd.Wait()
	res := s.p.finish(s.cmd, err, bytes.NewBufferString(rest.String()), bytes.NewBufferString(s.errb.String()))
	res.stderr = strings.TrimSpace(res.stderr)
	return res
}

// lockedBuffer is a buffer written by one goroutine while another may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
