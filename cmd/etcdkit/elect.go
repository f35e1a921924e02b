package main

import (
	"errors"
	"fmt"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/gen/mvccpb"
)

func init() {
	register(&command{path: "elect", use: "elect <election-name> [proposal]", short: "Observes and participates in leader election",
		flags: func(_ *app, fs *flagSet) {
			electListen = false
			fs.boolVar(&electListen, "listen", "observation mode")
			fs.alias("l", "listen")
		},
		run: runElect})
}

var electListen bool

// runElect campaigns with a proposal, prints the leader's key and value once elected and
// leads until SIGINT or SIGTERM, then resigns; or, with -l, prints each leader as it changes
// (a new leader, or the leader's new value) until interrupted.
func runElect(a *app, args []string) error {
	switch {
	case len(args) != 1 && len(args) != 2:
		return fail(exitBadArgs, "elect takes one election name argument and an optional proposal argument")
	case len(args) == 1 && !electListen:
		return fail(exitBadArgs, "no proposal argument but -l not set")
	case len(args) == 2 && electListen:
		return fail(exitBadArgs, "proposal given but -l is set")
	case electListen:
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
		a.printLeader(kv)
		a.stdout.Flush()
	}
	if a.ctx.Err() != nil {
		return nil
	}
	return errors.New("elect: observer lost")
}

// printLeader prints a leader as etcdctl prints a get of its key. In JSON the header carries
// only the leader key's mod revision: package etcd's observation yields keys, not responses.
func (a *app) printLeader(kv etcd.KeyValue) {
	if a.json() {
		printJSON(a.stdout, struct {
			Header *jsonHeader        `json:"header,omitempty"`
			Kvs    []*mvccpb.KeyValue `json:"kvs,omitempty"`
		}{&jsonHeader{Revision: kv.ModRevision}, []*mvccpb.KeyValue{rawKV(&kv)}})
		return
	}
	a.printKV(kv.Key, kv.Value, false)
}
