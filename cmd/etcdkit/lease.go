package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

func init() {
	register(&command{path: "lease grant", use: "lease grant <ttl>", short: "Creates leases", define: noFlags(runLeaseGrant), formats: "fields protobuf"})
	register(&command{path: "lease revoke", use: "lease revoke <leaseID>", short: "Revokes leases", define: noFlags(runLeaseRevoke), formats: "fields protobuf"})
	register(&command{path: "lease timetolive", use: "lease timetolive <leaseID> [options]", short: "Get lease information",
		define: withOptions[timeToLiveOpts], formats: "fields protobuf"})
	register(&command{path: "lease list", use: "lease list", short: "List all active leases", define: noFlags(runLeaseList), formats: "fields protobuf"})
	register(&command{path: "lease keep-alive", use: "lease keep-alive [options] <leaseID>", short: "Keeps leases alive (renew)",
		define: withOptions[keepAliveOpts], formats: "fields protobuf"})
}

// timeToLiveOpts are lease timetolive's flags.
type timeToLiveOpts struct{ keys bool }

func (o *timeToLiveOpts) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.keys, "keys", false, "Get keys attached to this lease")
}

// keepAliveOpts are lease keep-alive's flags.
type keepAliveOpts struct{ once bool }

func (o *keepAliveOpts) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.once, "once", false, "Resets the keep-alive time to its original value and exits immediately")
}

// The lease commands print the server's whole responses, headers included, as etcdctl does:
// package etcd's lease results carry the headers.

func parseLeaseID(arg string) (etcd.LeaseID, error) {
	id, err := strconv.ParseInt(arg, 16, 64)
	if err != nil {
		return 0, fail(exitBadArgs, "bad lease ID arg (%v), expecting ID in Hex", err)
	}
	return etcd.LeaseID(id), nil
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

func runLeaseGrant(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "lease grant command needs TTL argument")
	}
	ttl, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return fail(exitBadArgs, "bad TTL (%v)", err)
	}
	// The server raises a TTL below its minimum (over a second) to that minimum; package etcd
	// refuses TTLs below one second, so those go as one second, to the same effect.
	ttl = max(ttl, 1)
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		l, err := c.Grant(ctx, time.Duration(ttl)*time.Second)
		if err != nil {
			return wrapErr(exitError, "failed to grant lease", err)
		}
		switch a.g.writeOut {
		case "json":
			return printJSON(a.stdout, struct {
				*jsonHeader
				ID    int64
				TTL   int64
				Error string
			}{headerJSON(l.Header), int64(l.ID), secs(l.TTL), ""})
		case "fields":
			a.printFieldsLeaseTTL(l.Header, l.ID, secs(l.TTL))
			return nil
		case "protobuf":
			_, err := a.stdout.Write(pbHeaderMessage(l.Header))
			return err
		}
		fmt.Fprintf(a.stdout, "lease %016x granted with TTL(%ds)\n", int64(l.ID), secs(l.TTL))
		return nil
	})
}

func runLeaseRevoke(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "lease revoke command needs 1 argument")
	}
	id, err := parseLeaseID(args[0])
	if err != nil {
		return err
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		h, err := c.Revoke(ctx, id)
		if err != nil {
			return wrapErr(exitError, "failed to revoke lease", err)
		}
		switch a.g.writeOut {
		case "json":
			return printJSON(a.stdout, struct {
				Header *jsonHeader `json:"header,omitempty"`
			}{headerJSON(h)})
		case "fields":
			a.printFieldsHeader(h)
			return nil
		case "protobuf":
			// etcdctl revokes, then cannot marshal clientv3's response type: it names the type
			// and prints the value, a pointer (here <nil>) and the header in text format.
			return fail(exitBadFeature, "marshal unsupported for type *clientv3.LeaseRevokeResponse (&{{{} [] [] <nil>} %s [] 0})", headerText(h))
		}
		fmt.Fprintf(a.stdout, "lease %016x revoked\n", int64(id))
		return nil
	})
}

func (o *timeToLiveOpts) run(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "lease timetolive command needs lease ID as argument")
	}
	id, err := parseLeaseID(args[0])
	if err != nil {
		return err
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		var opts []etcd.TimeToLiveOption
		if o.keys {
			opts = append(opts, etcd.AttachedKeys())
		}
		info, err := c.TimeToLive(ctx, id, opts...)
		gone := errors.Is(err, etcd.ErrLeaseNotFound)
		if err != nil && !gone {
			return &exitErr{code: exitBadConnection, err: err}
		}
		ttl := secs(info.TTL)
		if gone {
			ttl = -1 // the server's answer for a lease it does not know
		}
		switch a.g.writeOut {
		case "protobuf":
			_, err := a.stdout.Write(pbHeaderMessage(info.Header))
			return err
		case "fields":
			a.printFieldsLeaseTTL(info.Header, id, ttl)
			fmt.Fprintf(a.stdout, "\"GrantedTTL\" : %d\n", secs(info.GrantedTTL))
			for _, k := range info.Keys {
				fmt.Fprintf(a.stdout, "\"Key\" : %q\n", string(k))
			}
			return nil
		case "json":
			return printJSON(a.stdout, struct {
				*jsonHeader
				ID         int64    `json:"id"`
				TTL        int64    `json:"ttl"`
				GrantedTTL int64    `json:"granted-ttl"`
				Keys       [][]byte `json:"keys"`
			}{headerJSON(info.Header), int64(id), ttl, secs(info.GrantedTTL), info.Keys})
		}
		if gone {
			fmt.Fprintf(a.stdout, "lease %016x already expired\n", int64(id))
			return nil
		}
		fmt.Fprintf(a.stdout, "lease %016x granted with TTL(%ds), remaining(%ds)", int64(id), secs(info.GrantedTTL), ttl)
		if o.keys {
			keys := make([]string, len(info.Keys))
			for i, k := range info.Keys {
				keys[i] = string(k)
			}
			fmt.Fprintf(a.stdout, ", attached keys(%v)", keys)
		}
		fmt.Fprintln(a.stdout)
		return nil
	})
}

func runLeaseList(a *app, _ []string) error {
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		ids, h, err := c.LeaseList(ctx)
		if err != nil {
			return &exitErr{code: exitBadConnection, err: err}
		}
		switch a.g.writeOut {
		case "protobuf":
			_, err := a.stdout.Write(pbHeaderMessage(h))
			return err
		case "fields":
			a.printFieldsHeader(h)
			for _, id := range ids {
				a.printFieldsLease("ID", int64(id), "")
			}
			return nil
		case "json":
			type status struct {
				ID int64 `json:"id"`
			}
			leases := make([]status, len(ids))
			for i, id := range ids {
				leases[i] = status{int64(id)}
			}
			return printJSON(a.stdout, struct {
				*jsonHeader
				Leases []status `json:"leases"`
			}{headerJSON(h), leases})
		}
		fmt.Fprintf(a.stdout, "found %d leases\n", len(ids))
		for _, id := range ids {
			fmt.Fprintf(a.stdout, "%016x\n", int64(id))
		}
		return nil
	})
}

func (a *app) printKeepAlive(l etcd.Lease) error {
	defer a.stdout.Flush()
	switch a.g.writeOut {
	case "json":
		return printJSON(a.stdout, struct {
			*jsonHeader
			ID  int64
			TTL int64
		}{headerJSON(l.Header), int64(l.ID), secs(l.TTL)})
	case "fields":
		a.printFieldsLeaseTTL(l.Header, l.ID, secs(l.TTL))
		return nil
	case "protobuf":
		_, err := a.stdout.Write(pbHeaderMessage(l.Header))
		return err
	}
	fmt.Fprintf(a.stdout, "lease %016x keepalived with TTL(%d)\n", int64(l.ID), secs(l.TTL))
	return nil
}

// runLeaseKeepAlive renews the lease once (--once) or every third of its TTL, printing each
// renewal with its header, until interrupted or the lease is gone. Each renewal is one
// KeepAliveOnce: package etcd's background KeepAlive does not report single renewals.
func (o *keepAliveOpts) run(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "lease keep-alive command needs lease ID as argument")
	}
	id, err := parseLeaseID(args[0])
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	defer c.Close()
	for {
		l, err := c.KeepAliveOnce(a.ctx, id)
		if errors.Is(err, etcd.ErrLeaseNotFound) {
			if o.once {
				return fail(exitBadConnection, "etcdserver: requested lease not found")
			}
			break
		}
		if err != nil {
			if a.ctx.Err() != nil {
				return nil
			}
			return &exitErr{code: exitBadConnection, err: err}
		}
		a.printKeepAlive(l)
		if o.once {
			return nil
		}
		select {
		case <-time.After(l.TTL / 3):
		case <-a.ctx.Done():
			return nil
		}
	}
	if a.g.writeOut == "simple" {
		fmt.Fprintf(a.stdout, "lease %016x expired or revoked.\n", int64(id))
	}
	return nil
}

// printFieldsLeaseTTL prints a lease's header, ID and TTL in fields format.
func (a *app) printFieldsLeaseTTL(h etcd.Header, id etcd.LeaseID, ttl int64) {
	a.printFieldsHeader(h)
	a.printFieldsLease("ID", int64(id), "")
	fmt.Fprintf(a.stdout, "\"TTL\" : %d\n", ttl)
}
