package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/etcdkit/etcdkit/cmd/internal/kit/etcd"
)

func init() {
	register(&command{path: "watch", use: "watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]",
		short: "Watches events stream on keys or prefixes", define: withOptions[watchOpts]})
}

// watchOpts are watch's flags.
type watchOpts struct {
	prefix, prevKV, progress bool
	rev                      int64
	interactive              bool
}

func (o *watchOpts) flags(fs *flagSet) {
	fs.boolVar(&o.interactive, "interactive", "Interactive mode")
	fs.alias("i", "interactive")
	fs.boolVar(&o.prefix, "prefix", "Watch on a prefix if prefix is set")
	fs.int64Var(&o.rev, "rev", 0, "Revision to start watching")
	fs.boolVar(&o.prevKV, "prev-kv", "get the previous key-value pair before the event happens")
	fs.boolVar(&o.progress, "progress-notify", "get periodic watch progress notification from server")
}

// watchArgs splits watch's arguments into the key range and the command to run on each
// event, taking the key from ETCDCTL_WATCH_KEY and ETCDCTL_WATCH_RANGE_END when set.
func (o *watchOpts) args(a *app, pos []string) (keys, execArgs []string, err error) {
	envKey, envRange := a.getenv("ETCDCTL_WATCH_KEY"), a.getenv("ETCDCTL_WATCH_RANGE_END")
	if envKey == "" && envRange != "" {
		return nil, nil, fail(exitBadArgs, "ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=%q", envRange)
	}
	keys = pos
	if a.dash >= 0 {
		keys, execArgs = pos[:a.dash], pos[a.dash:]
		if len(execArgs) == 0 {
			return nil, nil, fail(exitBadArgs, "bad number of arguments (found separator --, but no commands)")
		}
	}
	if envKey != "" {
		if len(keys) > 0 {
			return nil, nil, fail(exitBadArgs, "bad number of arguments (found conflicting environment key)")
		}
		keys = []string{envKey}
		if envRange != "" {
			keys = append(keys, envRange)
		}
	}
	if len(keys) == 0 || len(keys) > 2 {
		return nil, nil, fail(exitBadArgs, "bad number of arguments")
	}
	if len(keys) == 2 && o.prefix {
		return nil, nil, fail(exitBadArgs, "`range_end` and `--prefix` are mutually exclusive")
	}
	return keys, execArgs, nil
}

// runWatch prints every event, as etcdctl does, and runs the command given after "--" for
// each one with ETCD_WATCH_REVISION, ETCD_WATCH_EVENT_TYPE, ETCD_WATCH_KEY and
// ETCD_WATCH_VALUE in its environment. It runs until interrupted.
func (o *watchOpts) run(a *app, pos []string) error {
	if o.interactive {
		return runInteractiveWatch(a)
	}
	keys, execArgs, err := o.args(a, pos)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	defer c.Close()
	for ev, err := range c.Watch(a.ctx, o.keyRange(keys), o.options()...) {
		if err != nil {
			if a.ctx.Err() != nil {
				return &exitErr{code: 130} // interrupted, like etcdctl killed by SIGINT
			}
			fmt.Fprintf(a.stderr, "watch was canceled (%s)\n", errText(err))
			return fail(exitInterrupted, "watch is canceled by the server")
		}
		if err := a.show(a.ctx, ev, execArgs); err != nil {
			return err
		}
	}
	return errors.New("watch ended")
}

// keyRange is the range watched for keys: a key, or a key and a range end.
func (o *watchOpts) keyRange(keys []string) etcd.KeyRange {
	end := ""
	if len(keys) == 2 {
		end = keys[1]
	}
	r := keyRange(keys[0], end, o.prefix, false)
	if len(r.Key) == 0 {
		r = etcd.FromKey("\x00")
	}
	return r
}

func (o *watchOpts) options() []etcd.WatchOption {
	var opts []etcd.WatchOption
	if o.rev > 0 {
		opts = append(opts, etcd.FromRevision(o.rev))
	}
	if o.prevKV {
		opts = append(opts, etcd.PrevKV())
	}
	if o.progress {
		opts = append(opts, etcd.WithProgressNotify())
	}
	return opts
}

// show prints one event, a progress notification as etcdctl's line, and runs execArgs, if
// any, for a change.
func (a *app) show(ctx context.Context, ev etcd.Event, execArgs []string) error {
	if ev.Type == etcd.EventProgress {
		// etcdctl prints the line, then the response, which in json is its header alone.
		fmt.Fprintf(a.stdout, "progress notify: %d\n", ev.Revision)
		if a.json() {
			printJSON(a.stdout, jsonWatch{Header: &jsonHeader{Revision: ev.Revision}})
		}
		a.stdout.Flush()
		return nil
	}
	a.printEvent(ev)
	a.stdout.Flush()
	if len(execArgs) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, execArgs[0], execArgs[1:]...)
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("ETCD_WATCH_REVISION=%d", ev.Revision),
		fmt.Sprintf("ETCD_WATCH_EVENT_TYPE=%q", ev.Type.String()),
		fmt.Sprintf("ETCD_WATCH_KEY=%q", ev.KV.Key),
		fmt.Sprintf("ETCD_WATCH_VALUE=%q", ev.KV.Value))
	cmd.Stdout, cmd.Stderr = a.stdout, a.stderr
	err := cmd.Run()
	a.stdout.Flush()
	if err != nil {
		fmt.Fprintf(a.stderr, "command %q error (%v)\n", execArgs, err)
		return &exitErr{code: exitError}
	}
	return nil
}

// printEvent prints one event: simple as etcdctl's lines, json as etcdctl's watch response
// object holding the one event.
func (a *app) printEvent(ev etcd.Event) {
	if a.json() {
		printJSON(a.stdout, watchJSON(ev))
		return
	}
	fmt.Fprintln(a.stdout, ev.Type)
	if ev.PrevKV != nil {
		a.printKV(ev.PrevKV.Key, ev.PrevKV.Value, false)
	}
	a.printKV(ev.KV.Key, ev.KV.Value, false)
}
