package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

// watch --interactive: etcdctl's interactive watch. Each line of stdin is a command:
// "watch [options] <key> [range_end] [-- command args...]" starts a watch that prints its
// events (and runs the command for each) alongside the others, and "progress" asks the server
// how far every watch has delivered events, which each watch prints as a "progress notify"
// line. A line that is not a command is reported on stderr and skipped; bad watch flags end
// the session (exit 128), as does the end of stdin (exit 3), as in etcdctl.

// watchSession is one interactive watch: its client, its watches and their shared output.
type watchSession struct {
	a                *app
	c                *etcd.Client
	ctx              context.Context
	envKey, envRange string
	fatal            chan error // the first watch that must end the session

	wg      sync.WaitGroup
	mu      sync.Mutex // serializes output: the watches print whole events
	watches []*sessionWatch
}

// sessionWatch is one watch of a session. Every watch asks the server for progress
// notifications, so that each prints its answer to a "progress" command as etcdctl's watches
// all do; one started without --progress-notify prints only those answers (asked counts them),
// not the server's periodic notifications.
type sessionWatch struct {
	notify bool // --progress-notify: print every notification
	asked  int  // answers to progress commands still to print; guarded by the session's mu
}

func runInteractiveWatch(a *app) error {
	s := &watchSession{a: a, envKey: a.getenv("ETCDCTL_WATCH_KEY"), envRange: a.getenv("ETCDCTL_WATCH_RANGE_END"), fatal: make(chan error, 1)}
	if s.envKey == "" && s.envRange != "" {
		return fail(exitBadArgs, "ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=%q", s.envRange)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(a.ctx)
	defer s.wg.Wait()
	defer cancel()
	s.c, s.ctx = c, ctx

	// The reader stays blocked on stdin when the session ends first; the process exits.
	lines, readErr := make(chan string), make(chan error, 1)
	go func() {
		in := bufio.NewReader(a.stdin)
		for {
			l, err := in.ReadString('\n')
			if err != nil {
				readErr <- err
				return
			}
			select {
			case lines <- strings.TrimSuffix(l, "\n"):
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-a.ctx.Done():
			return &exitErr{code: 130} // interrupted, like etcdctl killed by SIGINT
		case err := <-s.fatal:
			return err
		case err := <-readErr:
			return fail(exitInvalidInput, "error reading watch request line: %v", err)
		case l := <-lines:
			if err := s.command(l); err != nil {
				return err
			}
		}
	}
}

// command runs one line; an error ends the session.
func (s *watchSession) command(line string) error {
	args, err := splitArgs(line)
	if err != nil {
		return fail(exitInvalidInput, "%v", err)
	}
	if len(args) == 0 {
		s.complain("Invalid command: %s (watch and progress supported)\n", line)
		return nil
	}
	switch args[0] {
	case "watch":
		if len(args) < 2 && s.envKey == "" {
			s.complain("Invalid command %s (command type or key is not provided)\n", line)
			return nil
		}
		return s.watch(line, args[1:])
	case "progress":
		return s.progress()
	}
	s.complain("Invalid command %s (only support watch)\n", line)
	return nil
}

// progress asks for every watch's progress. A cluster with a member older than 3.5.8,
// whose answers may name a revision whose events are still on the way, is not asked
// (package etcd refuses to): etcdctl asks and prints the answer.
func (s *watchSession) progress() error {
	s.count(1)
	err := s.c.RequestProgress(s.ctx)
	if errors.Is(err, etcd.ErrNotSupported) {
		s.count(-1)
		return nil
	}
	return err
}

// count adds n to the answers each watch expects.
func (s *watchSession) count(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.watches {
		w.asked += n
	}
}

func (s *watchSession) complain(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.a.stderr, format, args...)
}

// watch starts the watch of one "watch" line, whose arguments follow the word watch.
func (s *watchSession) watch(line string, args []string) error {
	var o watchOpts
	fs := pflag.NewFlagSet("watch", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.flags(fs)
	err := fs.Parse(args)
	pos, dash := fs.Args(), fs.ArgsLenAtDash()
	if err != nil {
		return &exitErr{code: exitBadArgs, err: err}
	}
	keys, execArgs := pos, []string(nil)
	if dash >= 0 {
		keys, execArgs = pos[:dash], pos[dash:]
		if len(execArgs) == 0 {
			return fail(exitBadArgs, "bad number of arguments (found separator --, but no commands)")
		}
	}
	switch {
	case len(keys) == 0 && s.envKey == "":
		return fail(exitBadArgs, "bad number of arguments")
	case len(keys) > 0 && s.envKey != "" && dash < 0:
		return fail(exitBadArgs, "bad number of arguments (found conflicting environment key)")
	}
	if s.envKey != "" {
		env := []string{s.envKey}
		if s.envRange != "" {
			env = append(env, s.envRange)
		}
		keys = append(env, keys...)
	}
	// As etcdctl's, a third key and beyond are ignored; a range end excludes --prefix.
	if len(keys) > 2 {
		keys = keys[:1]
	}
	if len(keys) == 2 && o.prefix {
		s.complain("Invalid command %s (`range_end` and `--prefix` are mutually exclusive)\n", line)
		return nil
	}
	w := &sessionWatch{notify: o.progress}
	s.mu.Lock()
	s.watches = append(s.watches, w)
	s.mu.Unlock()
	o.progress = true
	resps := s.c.WatchResponses(s.ctx, o.keyRange(keys), o.options()...)
	s.wg.Go(func() { s.print(w, resps, execArgs) })
	return nil
}

// print prints one watch's responses until it ends.
func (s *watchSession) print(w *sessionWatch, resps iter.Seq2[etcd.WatchResponse, error], execArgs []string) {
	for resp, err := range resps {
		progress := isProgress(resp)
		s.mu.Lock()
		switch {
		case err != nil:
			if s.ctx.Err() == nil {
				fmt.Fprintf(s.a.stderr, "watch was canceled (%s)\n", cancelText(err))
				s.a.showCompacted(s.c, err)
			}
		case progress && !w.notify && w.asked == 0:
		default:
			if progress && !w.notify {
				w.asked--
			}
			err = s.a.show(s.ctx, resp, execArgs)
			if err != nil && s.ctx.Err() == nil {
				select {
				case s.fatal <- err:
				default:
				}
			}
		}
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}
