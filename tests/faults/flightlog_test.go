package faults

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
)

// flightLog keeps the last lines a client logged, at every level, and writes them to the
// test's log only when the test fails: a rare failure then shows what the client saw
// (endpoints leaving and coming back, streams re-opened) without flooding passing runs.
type flightLog struct {
	mu    sync.Mutex
	lines [][]byte
	next  int // where the next line goes once lines is full
}

// flightLines is how many lines a flightLog keeps.
const flightLines = 400

// Write keeps one line (slog's text handler writes a record per call).
func (f *flightLog) Write(p []byte) (int, error) {
	line := bytes.Clone(bytes.TrimRight(p, "\n"))
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.lines) < flightLines {
		f.lines = append(f.lines, line)
	} else {
		f.lines[f.next] = line
		f.next = (f.next + 1) % flightLines
	}
	return len(p), nil
}

// logTo returns a logger recording into a new flightLog, which t's log gets, oldest line
// first, if t fails.
func logTo(t *testing.T, name string) *slog.Logger {
	f := &flightLog{}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		t.Logf("the last %d lines client %s logged:", len(f.lines), name)
		for i := range f.lines {
			t.Logf("  %s", f.lines[(f.next+i)%len(f.lines)])
		}
	})
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})).With("client", name)
}
