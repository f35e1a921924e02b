package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

func init() {
	register(&command{path: "watch", use: "watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]",
		short: "Watches events stream on keys or prefixes", define: withOptions[watchOpts], formats: "fields protobuf"})
}

// watchOpts are watch's flags.
type watchOpts struct {
	prefix, prevKV, progress bool
	rev                      int64
	interactive              bool
}

func (o *watchOpts) flags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.interactive, "interactive", "i", false, "Interactive mode")
	fs.BoolVar(&o.prefix, "prefix", false, "Watch on a prefix if prefix is set")
	fs.Int64Var(&o.rev, "rev", 0, "Revision to start watching")
	fs.BoolVar(&o.prevKV, "prev-kv", false, "get the previous key-value pair before the event happens")
	fs.BoolVar(&o.progress, "progress-notify", false, "get periodic watch progress notification from server")
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

// runWatch prints every response of the watch, as etcdctl does, and runs the command given
// after "--" for each event with ETCD_WATCH_REVISION, ETCD_WATCH_EVENT_TYPE, ETCD_WATCH_KEY and
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
	for resp, err := range c.WatchResponses(a.ctx, o.keyRange(keys), o.options()...) {
		if err != nil {
			if a.ctx.Err() != nil {
				return &exitErr{code: 130} // interrupted, like etcdctl killed by SIGINT
			}
			fmt.Fprintf(a.stderr, "watch was canceled (%s)\n", cancelText(err))
			a.showCompacted(c, err)
			return fail(exitInterrupted, "watch is canceled by the server")
		}
		if err := a.show(a.ctx, resp, execArgs); err != nil {
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
		opts = append(opts, etcd.ProgressNotify())
	}
	return opts
}

// show prints one response (a progress notification after etcdctl's line naming its
// revision), then runs execArgs, if any, for each of its events.
func (a *app) show(ctx context.Context, resp etcd.WatchResponse, execArgs []string) error {
	if isProgress(resp) {
		fmt.Fprintf(a.stdout, "progress notify: %d\n", resp.Header.Revision)
		resp.Events = nil
	}
	a.printWatch(resp)
	a.stdout.Flush()
	for _, ev := range resp.Events {
		if len(execArgs) == 0 {
			break
		}
		cmd := exec.CommandContext(ctx, execArgs[0], execArgs[1:]...)
		cmd.Env = append(os.Environ(),
			fmt.Sprintf("ETCD_WATCH_REVISION=%d", resp.Header.Revision),
			fmt.Sprintf("ETCD_WATCH_EVENT_TYPE=%q", ev.Type.String()),
			fmt.Sprintf("ETCD_WATCH_KEY=%q", ev.KV.Key),
			fmt.Sprintf("ETCD_WATCH_VALUE=%q", ev.KV.Value))
		cmd.Stdout, cmd.Stderr = a.stdout, a.stderr
		err := cmd.Run()
		a.stdout.Flush()
		if err != nil && ctx.Err() != nil {
			// Interrupted, or the end of an interactive session: etcdctl exits at once,
			// its command with it, without a word.
			return &exitErr{code: 130}
		}
		if err != nil {
			fmt.Fprintf(a.stderr, "command %q error (%v)\n", execArgs, err)
			return &exitErr{code: exitError}
		}
	}
	return nil
}

// isProgress reports whether resp is a progress notification.
func isProgress(resp etcd.WatchResponse) bool {
	return len(resp.Events) == 1 && resp.Events[0].Type == etcd.EventProgress
}

// cancelText words the end of a watch as etcdctl does: a compacted start revision as the
// server's error, others as errText.
func cancelText(err error) string {
	if errors.Is(err, etcd.ErrCompacted) {
		return "etcdserver: mvcc: required revision has been compacted"
	}
	return errText(err)
}

// showCompacted prints, outside simple format, the response with which etcd cancels a watch
// whose start revision was compacted, if err is that: its compact revision, and a header
// without revision. Package etcd's error carries no header: the member, cluster and raft term
// are those of a read made now.
func (a *app) showCompacted(c *etcd.Client, err error) {
	var ce *etcd.CompactedError
	if a.g.writeOut == "simple" || !errors.As(err, &ce) {
		return
	}
	ctx, cancel := a.commandCtx()
	defer cancel()
	read, rerr := c.Range(ctx, etcd.Key("\x00"), etcd.CountOnly(), etcd.Serializable()) // any key: only the header counts
	if rerr != nil {
		return
	}
	read.Header.Revision = 0
	resp := etcd.WatchResponse{Header: read.Header}
	switch a.g.writeOut {
	case "json":
		j := watchJSON(resp)
		j.CompactRevision, j.Canceled = ce.Revision, true
		printJSON(a.stdout, j)
	case "protobuf":
		a.stdout.Write(pbVarint(pbVarint(pbWatch(resp), 4, 1), 5, uint64(ce.Revision)))
	default:
		a.printWatch(resp)
	}
	a.stdout.Flush()
}

// printWatch prints a response as etcdctl's printers do: its events in simple format, and
// whole (header, events, and the flags etcdctl adds) in the others.
func (a *app) printWatch(resp etcd.WatchResponse) {
	switch a.g.writeOut {
	case "json":
		printJSON(a.stdout, watchJSON(resp))
		return
	case "protobuf":
		a.stdout.Write(pbWatch(resp))
		return
	case "fields":
		a.printFieldsHeader(resp.Header)
		for _, ev := range resp.Events {
			fmt.Fprintln(a.stdout, `"Type" :`, ev.Type)
			if ev.PrevKV != nil {
				a.printFieldsKV("Prev", ev.PrevKV)
			}
			a.printFieldsKV("", &ev.KV)
		}
		return
	}
	for _, ev := range resp.Events {
		fmt.Fprintln(a.stdout, ev.Type)
		if ev.PrevKV != nil {
			a.printKV(ev.PrevKV.Key, ev.PrevKV.Value, false)
		}
		a.printKV(ev.KV.Key, ev.KV.Value, false)
	}
}
