package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

// The operator's commands: compaction, defrag, alarms, hashes, leadership and snapshots.

func init() {
	register(&command{path: "compaction", use: "compaction [options] <revision>", short: "Compacts the event history in etcd",
		define: withOptions[compactOpts], formats: textOnly})
	register(&command{path: "defrag", use: "defrag", short: "Defragments the storage of the etcd members with given endpoints",
		define: withOptions[defragOpts], formats: textOnly})
	register(&command{path: "alarm list", use: "alarm list", short: "Lists all alarms", define: noFlags(runAlarmList), formats: "fields protobuf"})
	register(&command{path: "alarm disarm", use: "alarm disarm", short: "Disarms all alarms", define: noFlags(runAlarmDisarm), formats: "fields protobuf"})
	register(&command{path: "endpoint hashkv", use: "endpoint hashkv", short: "Prints the KV history hash for each endpoint in --endpoints",
		define: withOptions[hashOpts], formats: "fields table"})
	register(&command{path: "move-leader", use: "move-leader <transferee-member-id>", short: "Transfers leadership to another etcd cluster member.",
		define: noFlags(runMoveLeader)})
	register(&command{path: "snapshot save", use: "snapshot save <filename>",
		short: "Stores an etcd node backend snapshot to a given file (its sha256 checked before it is renamed into place)", define: noFlags(runSnapshotSave), formats: textOnly})
}

// textOnly are the formats of a command that prints the same text in every one, as
// etcdctl's compaction, defrag, snapshot save, version and auth enable|disable do.
const textOnly = "fields table protobuf"

// compactOpts are compaction's flags.
type compactOpts struct{ physical bool }

func (o *compactOpts) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.physical, "physical", false, "'true' to wait for compaction to physically remove all old revisions (etcdkit always waits)")
}

func (o *compactOpts) run(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "compaction command needs 1 argument")
	}
	rev, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return fail(exitError, "%v", err)
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		if _, err := c.Compact(ctx, rev); err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, "compacted revision", rev)
		return nil
	})
}

// defragOpts are defrag's flags.
type defragOpts struct{ epOpts }

// run (defrag) defragments each endpoint in turn, as etcdctl does, and fails if any failed.
func (o *defragOpts) run(a *app, _ []string) error {
	eps, err := o.endpoints(a)
	if err != nil {
		return err
	}
	failed := false
	for _, ep := range eps {
		err := a.callOn([]string{ep}, func(ctx context.Context, c *etcd.Client) error {
			start := time.Now()
			_, err := c.Defragment(ctx, ep)
			took := time.Since(start)
			if err != nil {
				//lint:ignore ST1005 etcdctl's words, which scripts match
				return fmt.Errorf("Failed to defragment etcd member[%s]. took %s. (%s)", ep, took, errText(err))
			}
			fmt.Fprintf(a.stdout, "Finished defragmenting etcd member[%s]. took %s\n", ep, took)
			return nil
		})
		if err != nil {
			failed = true
			a.stdout.Flush()
			fmt.Fprintln(a.stderr, errText(err))
		}
	}
	if failed {
		return &exitErr{code: exitError}
	}
	return nil
}

func runAlarmList(a *app, args []string) error {
	if len(args) != 0 {
		return fail(exitBadArgs, "alarm list command accepts no arguments")
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		alarms, h, err := c.AlarmList(ctx)
		if err != nil {
			return err
		}
		return a.printAlarmResponse(&h, alarms)
	})
}

// printAlarmResponse prints an answer of alarm list or disarm in the chosen format. h is nil
// for disarm: etcdctl gathers the alarms each deactivation returned into a response without
// a header, which fields shows as zeros and protobuf and json leave out.
func (a *app) printAlarmResponse(h *etcd.Header, alarms []etcd.Alarm) error {
	switch a.g.writeOut {
	case "protobuf":
		_, err := a.stdout.Write(pbAlarms(h, alarms))
		return err
	case "fields":
		a.printFieldsHeader(*cmp.Or(h, &etcd.Header{}))
		for _, al := range alarms {
			fmt.Fprintf(a.stdout, "\"MemberID\" : %s\n\"AlarmType\" : %s\n\n", a.fieldsID(al.MemberID), al.Type)
		}
		return nil
	}
	var jh *jsonHeader
	if h != nil {
		jh = headerJSON(*h)
	}
	return a.printAlarms(alarms, jh)
}

func runAlarmDisarm(a *app, args []string) error {
	if len(args) != 0 {
		return fail(exitBadArgs, "alarm disarm command accepts no arguments")
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		alarms, _, err := c.AlarmDisarm(ctx)
		if err != nil {
			return err
		}
		return a.printAlarmResponse(nil, alarms)
	})
}

// printAlarms prints alarms as etcdctl prints the AlarmMember messages of its response, with
// the response's header in JSON when there is one.
func (a *app) printAlarms(alarms []etcd.Alarm, h *jsonHeader) error {
	if a.json() {
		type jsonAlarm struct {
			MemberID uint64 `json:"memberID,omitempty"`
			Alarm    int32  `json:"alarm,omitempty"`
		}
		out := struct {
			Header *jsonHeader `json:"header,omitempty"`
			Alarms []jsonAlarm `json:"alarms,omitempty"`
		}{Header: h}
		for _, al := range alarms {
			out.Alarms = append(out.Alarms, jsonAlarm{al.MemberID, alarmNumbers[al.Type]})
		}
		return printJSON(a.stdout, out)
	}
	for _, al := range alarms {
		fmt.Fprintf(a.stdout, "memberID:%d alarm:%s\n", al.MemberID, al.Type)
	}
	return nil
}

// alarmNumbers are etcd's numbers of the alarm types (etcdserverpb.AlarmType).
var alarmNumbers = map[string]int32{"NONE": 0, "NOSPACE": 1, "CORRUPT": 2}

// hashOpts are endpoint hashkv's flags.
type hashOpts struct {
	epOpts
	rev int64
}

func (o *hashOpts) flags(fs *pflag.FlagSet) {
	o.epOpts.flags(fs)
	fs.Int64Var(&o.rev, "rev", 0, "maximum revision to hash (default: latest revision)")
}

func (o *hashOpts) run(a *app, _ []string) error {
	eps, err := o.endpoints(a)
	if err != nil {
		return err
	}
	type hashKV struct {
		Endpoint string
		HashKV   struct {
			Header          *jsonHeader `json:"header,omitempty"`
			Hash            uint32      `json:"hash,omitempty"`
			CompactRevision int64       `json:"compact_revision,omitempty"`
			HashRevision    int64       `json:"hash_revision,omitempty"`
		}
		header etcd.Header // for the fields format
	}
	var list []hashKV
	var last error
	for _, ep := range eps {
		err := a.callOn([]string{ep}, func(ctx context.Context, c *etcd.Client) error {
			h, err := c.HashKV(ctx, ep, o.rev)
			if err != nil {
				return err
			}
			var r hashKV
			r.Endpoint, r.header = ep, h.Header
			r.HashKV.Header, r.HashKV.Hash = headerJSON(h.Header), h.Hash
			r.HashKV.CompactRevision, r.HashKV.HashRevision = h.CompactRevision, h.HashRevision
			list = append(list, r)
			return nil
		})
		if err != nil {
			last = err
			fmt.Fprintf(a.stderr, "Failed to get the hash of endpoint %s (%s)\n", ep, errText(err))
		}
	}
	switch a.g.writeOut {
	case "json":
		if err := printJSON(a.stdout, list); err != nil {
			return err
		}
	case "fields":
		for _, h := range list {
			a.printFieldsHeader(h.header)
			fmt.Fprintf(a.stdout, "\"Endpoint\" : %q\n\"Hash\" : %d\n\"HashRevision\" : %d\n\n", h.Endpoint, h.HashKV.Hash, h.HashKV.HashRevision)
		}
	default:
		rows := make([][]string, len(list))
		for i, h := range list {
			rows[i] = []string{h.Endpoint, fmt.Sprint(h.HashKV.Hash), fmt.Sprint(h.HashKV.HashRevision)}
		}
		a.printRows([]string{"endpoint", "hash", "hash_revision"}, rows)
	}
	return last
}

// runMoveLeader finds the leader among the endpoints and asks it to hand over to the member
// named by its hexadecimal ID.
func runMoveLeader(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "move-leader command needs 1 argument")
	}
	target, err := strconv.ParseUint(args[0], 16, 64)
	if err != nil {
		return fail(exitBadArgs, "%v", err)
	}
	ctx, cancel := a.commandCtx()
	defer cancel()
	eps := a.endpoints()
	for _, ep := range eps {
		c, err := a.clientFor([]string{ep})
		if err != nil {
			return err
		}
		defer c.Close()
		st, err := c.Status(ctx, ep)
		if err != nil {
			return err
		}
		if !st.IsLeader() {
			continue
		}
		if _, err := c.MoveLeader(ctx, ep, target); err != nil {
			return err
		}
		if a.json() {
			return printJSON(a.stdout, struct {
				Header *jsonHeader `json:"header,omitempty"`
			}{headerJSON(st.Header)})
		}
		fmt.Fprintf(a.stdout, "Leadership transferred from %x to %x\n", st.Leader, target)
		return nil
	}
	return fail(exitBadArgs, "no leader endpoint given at %v", eps)
}

// runSnapshotSave saves the one endpoint's snapshot, bounded by --command-timeout only when
// it is given, as etcdctl does.
func runSnapshotSave(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "snapshot save expects one argument <filename>")
	}
	eps := a.endpoints()
	if len(eps) != 1 {
		return fail(exitInterrupted, "snapshot must be requested to one selected node, not multiple %v", eps)
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(a.ctx)
	if a.cmd.Flags().Changed("command-timeout") {
		ctx, cancel = a.commandCtx()
	}
	defer cancel()
	info, err := c.SaveSnapshot(ctx, eps[0], args[0])
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fail(exitInterrupted, "could not open %s (%v)", pe.Path, pe)
		}
		return &exitErr{code: exitInterrupted, err: err}
	}
	fmt.Fprintf(a.stdout, "Snapshot saved at %s\n", args[0])
	if info.Version != "" {
		fmt.Fprintf(a.stdout, "Server version %s\n", info.Version)
	}
	return nil
}
