package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

func init() {
	register(&command{path: "elect", use: "elect <election-name> [proposal]", short: "Observes and participates in leader election",
		long:   "Unlike etcdctl, etcdkit revokes its campaign's lease on exit, so the next candidate leads at once.",
		define: withOptions[electOpts], formats: "fields protobuf"})
}

// electOpts are elect's flags.
type electOpts struct{ listen bool }

func (o *electOpts) flags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.listen, "listen", "l", false, "observation mode")
}

// runElect campaigns with a proposal, prints the leader's key and value once elected and
// leads until SIGINT or SIGTERM, then resigns; or, with -l, prints each leader as it changes
// (a new leader, or the leader's new value) until interrupted.
func (o *electOpts) run(a *app, args []string) error {
	switch {
	case len(args) != 1 && len(args) != 2:
		return fail(exitBadArgs, "elect takes one election name argument and an optional proposal argument")
	case len(args) == 1 && !o.listen:
		return fail(exitBadArgs, "no proposal argument but -l not set")
	case len(args) == 2 && o.listen:
		return fail(exitBadArgs, "proposal given but -l is set")
	case o.listen:
		return a.observe(args[0])
	}
	return a.campaign(args[0], args[1])
}

func (a *app) campaign(name, proposal string) error {
	c, s, err := a.session()
	if err != nil {
		return err
	}
	defer c.Close()
	defer s.Close()
	e := s.NewElection(name)
	if err := e.Campaign(a.ctx, proposal); err != nil {
		return err
	}
	res, err := a.readKey(c, e.Key())
	if err != nil {
		a.release(e.Resign)
		return err
	}
	if err := a.printRange(res, false); err != nil {
		return err
	}
	a.stdout.Flush()
	return a.hold(s, e.Lost(), "elect: session expired", "elect: leadership lost: its key was deleted", e.Resign)
}

func (a *app) observe(name string) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	defer c.Close()
	for kv, err := range c.ObserveElection(a.ctx, name) {
		if err != nil {
			if a.ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("elect: observer lost (%s)", errText(err))
		}
		if err := a.printLeader(c, kv); err != nil {
			return err
		}
		a.stdout.Flush()
	}
	if a.ctx.Err() != nil {
		return nil
	}
	return errors.New("elect: observer lost")
}

// printLeader prints a leader as etcdctl prints what its observer yields: a get response
// holding the leader's key alone (no count). Package etcd's observation yields keys, not
// responses, so outside simple format the header is that of a read of the leader's key made
// as it is printed: the member, raft term and current revision (etcd's header carries the
// current revision whatever revision is read), as etcdctl's own read or watch reports them
// while nothing else is written in between.
func (a *app) printLeader(c *etcd.Client, kv etcd.KeyValue) error {
	res := etcd.RangeResult{KVs: []etcd.KeyValue{kv}}
	if a.g.writeOut != "simple" {
		ctx, cancel := a.commandCtx()
		defer cancel()
		read, err := c.Range(ctx, etcd.Key(string(kv.Key)), etcd.CountOnly())
		if err != nil {
			return fmt.Errorf("elect: reading the leader's header (%s)", errText(err))
		}
		res.Header = read.Header
	}
	return a.printRange(res, false)
}
