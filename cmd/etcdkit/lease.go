package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

func init() {
	register(&command{path: "lease grant", use: "lease grant <ttl>", short: "Creates leases", run: runLeaseGrant})
	register(&command{path: "lease revoke", use: "lease revoke <leaseID>", short: "Revokes leases", run: runLeaseRevoke})
	register(&command{path: "lease timetolive", use: "lease timetolive <leaseID> [options]", short: "Get lease information",
		flags: func(_ *app, fs *flagSet) {
			ttlKeys = false
			fs.boolVar(&ttlKeys, "keys", "Get keys attached to this lease")
		},
		run: runLeaseTimeToLive})
	register(&command{path: "lease list", use: "lease list", short: "List all active leases", run: runLeaseList})
	register(&command{path: "lease keep-alive", use: "lease keep-alive [options] <leaseID>", short: "Keeps leases alive (renew)",
		flags: func(_ *app, fs *flagSet) {
			keepAliveOnce = false
			fs.boolVar(&keepAliveOnce, "once", "Resets the keep-alive time to its original value and exits immediately")
		},
		run: runLeaseKeepAlive})
}

var ttlKeys, keepAliveOnce bool

// The lease commands print the server's whole responses, headers included, which package
// etcd's lease results do not carry: they call the Lease service through Client.Conn.

func parseLeaseID(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 16, 64)
	if err != nil {
		return 0, fail(exitBadArgs, "bad lease ID arg (%v), expecting ID in Hex", err)
	}
	return id, nil
}

// headerFields is a response header whose fields sit at the top level of the JSON object,
// as in etcdctl's lease output.
type headerFields = *etcdserverpb.ResponseHeader

func runLeaseGrant(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "lease grant command needs TTL argument")
	}
	ttl, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return fail(exitBadArgs, "bad TTL (%v)", err)
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		lc := etcdserverpb.NewLeaseClient(c.Conn())
		resp, err := lc.LeaseGrant(ctx, &etcdserverpb.LeaseGrantRequest{TTL: ttl})
		if err != nil {
			return wrapErr(exitError, "failed to grant lease", err)
		}
		if a.json() {
			return printJSON(a.stdout, struct {
				headerFields
				ID    int64
				TTL   int64
				Error string
			}{resp.GetHeader(), resp.GetID(), resp.GetTTL(), resp.GetError()})
		}
		fmt.Fprintf(a.stdout, "lease %016x granted with TTL(%ds)\n", resp.GetID(), resp.GetTTL())
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
		lc := etcdserverpb.NewLeaseClient(c.Conn())
		resp, err := lc.LeaseRevoke(ctx, &etcdserverpb.LeaseRevokeRequest{ID: id})
		if err != nil {
			return wrapErr(exitError, "failed to revoke lease", err)
		}
		if a.json() {
			return printJSON(a.stdout, resp)
		}
		fmt.Fprintf(a.stdout, "lease %016x revoked\n", id)
		return nil
	})
}

func runLeaseTimeToLive(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "lease timetolive command needs lease ID as argument")
	}
	id, err := parseLeaseID(args[0])
	if err != nil {
		return err
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		lc := etcdserverpb.NewLeaseClient(c.Conn())
		resp, err := lc.LeaseTimeToLive(ctx, &etcdserverpb.LeaseTimeToLiveRequest{ID: id, Keys: ttlKeys})
		if err != nil {
			return &exitErr{code: exitBadConnection, err: err}
		}
		if a.json() {
			return printJSON(a.stdout, struct {
				headerFields
				ID         int64    `json:"id"`
				TTL        int64    `json:"ttl"`
				GrantedTTL int64    `json:"granted-ttl"`
				Keys       [][]byte `json:"keys"`
			}{resp.GetHeader(), resp.GetID(), resp.GetTTL(), resp.GetGrantedTTL(), resp.GetKeys()})
		}
		if resp.GetGrantedTTL() == 0 && resp.GetTTL() == -1 {
			fmt.Fprintf(a.stdout, "lease %016x already expired\n", resp.GetID())
			return nil
		}
		fmt.Fprintf(a.stdout, "lease %016x granted with TTL(%ds), remaining(%ds)", resp.GetID(), resp.GetGrantedTTL(), resp.GetTTL())
		if ttlKeys {
			keys := make([]string, len(resp.GetKeys()))
			for i, k := range resp.GetKeys() {
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
		lc := etcdserverpb.NewLeaseClient(c.Conn())
		resp, err := lc.LeaseLeases(ctx, &etcdserverpb.LeaseLeasesRequest{})
		if err != nil {
			return &exitErr{code: exitBadConnection, err: err}
		}
		if a.json() {
			type status struct {
				ID int64 `json:"id"`
			}
			leases := make([]status, len(resp.GetLeases()))
			for i, l := range resp.GetLeases() {
				leases[i] = status{l.GetID()}
			}
			return printJSON(a.stdout, struct {
				headerFields
				Leases []status `json:"leases"`
			}{resp.GetHeader(), leases})
		}
		fmt.Fprintf(a.stdout, "found %d leases\n", len(resp.GetLeases()))
		for _, l := range resp.GetLeases() {
			fmt.Fprintf(a.stdout, "%016x\n", l.GetID())
		}
		return nil
	})
}

func (a *app) printKeepAlive(resp *etcdserverpb.LeaseKeepAliveResponse) error {
	defer a.stdout.Flush()
	if a.json() {
		return printJSON(a.stdout, struct {
			headerFields
			ID  int64
			TTL int64
		}{resp.GetHeader(), resp.GetID(), resp.GetTTL()})
	}
	fmt.Fprintf(a.stdout, "lease %016x keepalived with TTL(%d)\n", resp.GetID(), resp.GetTTL())
	return nil
}

// runLeaseKeepAlive renews the lease once (--once) or every third of its TTL, printing each
// renewal, until interrupted or the lease is gone.
func runLeaseKeepAlive(a *app, args []string) error {
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
	lc := etcdserverpb.NewLeaseClient(c.Conn())
	ctx, cancel := context.WithCancel(a.ctx)
	defer cancel()
	stream, err := lc.LeaseKeepAlive(ctx)
	if err != nil {
		return &exitErr{code: exitBadConnection, err: err}
	}
	for {
		if err := stream.Send(&etcdserverpb.LeaseKeepAliveRequest{ID: id}); err != nil {
			return &exitErr{code: exitBadConnection, err: err}
		}
		resp, err := stream.Recv()
		if err != nil {
			if a.ctx.Err() != nil {
				return nil
			}
			return &exitErr{code: exitBadConnection, err: err}
		}
		if resp.GetTTL() <= 0 {
			if keepAliveOnce {
				return fail(exitBadConnection, "etcdserver: requested lease not found")
			}
			break
		}
		a.printKeepAlive(resp)
		if keepAliveOnce {
			return nil
		}
		select {
		case <-time.After(time.Duration(resp.GetTTL()) * time.Second / 3):
		case <-a.ctx.Done():
			return nil
		}
	}
	if !a.json() {
		fmt.Fprintf(a.stdout, "lease %016x expired or revoked.\n", id)
	}
	return nil
}
