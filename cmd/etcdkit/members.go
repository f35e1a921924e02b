package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

func init() {
	register(&command{path: "member add", use: "member add <memberName> [options]", short: "Adds a member into the cluster",
		define: withOptions[memberAddOpts], formats: "protobuf"})
	register(&command{path: "member remove", use: "member remove <memberID>", short: "Removes a member from the cluster",
		define: noFlags(memberByID("removed from", (*etcd.Client).MemberRemove)), formats: "protobuf"})
	register(&command{path: "member update", use: "member update <memberID> [options]", short: "Updates a member in the cluster",
		define: withOptions[memberUpdateOpts], formats: "protobuf"})
	register(&command{path: "member promote", use: "member promote <memberID>", short: "Promotes a non-voting member in the cluster",
		define: noFlags(memberByID("promoted in", (*etcd.Client).MemberPromote)), formats: "protobuf"})
}

// memberAddOpts are member add's flags.
type memberAddOpts struct {
	peerURLs string
	learner  bool
}

func (o *memberAddOpts) flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.peerURLs, "peer-urls", "", "comma separated peer URLs for the new member.")
	fs.BoolVar(&o.learner, "learner", false, "indicates if the new member is raft learner")
}

func (o *memberAddOpts) run(a *app, args []string) error {
	if len(args) < 1 {
		return fail(exitBadArgs, "member name not provided")
	}
	if len(args) > 1 {
		msg := "too many arguments"
		for _, s := range args {
			if strings.HasPrefix(strings.ToLower(s), "http") {
				msg += fmt.Sprintf(", did you mean --peer-urls=%s", s)
			}
		}
		return fail(exitBadArgs, "%s", msg)
	}
	if o.peerURLs == "" {
		return fail(exitBadArgs, "member peer urls not provided")
	}
	name, urls := args[0], strings.Split(o.peerURLs, ",")
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		add := c.MemberAdd
		if o.learner {
			add = c.MemberAddLearner
		}
		ch, err := add(ctx, urls)
		if err != nil {
			return err
		}
		switch a.g.writeOut {
		case "json":
			return printJSON(a.stdout, memberChangeJSON(ch))
		case "protobuf":
			_, err := a.stdout.Write(pbMemberChange(ch, true))
			return err
		}
		as := " "
		if ch.Member.IsLearner {
			as = " as learner "
		}
		fmt.Fprintf(a.stdout, "Member %16x added%sto cluster %16x\n", ch.Member.ID, as, ch.Header.ClusterID)
		var conf []string
		for _, m := range ch.Members {
			n := m.Name
			if m.ID == ch.Member.ID {
				n = name
			}
			for _, u := range m.PeerURLs {
				conf = append(conf, n+"="+u)
			}
		}
		fmt.Fprintf(a.stdout, "\nETCD_NAME=%q\nETCD_INITIAL_CLUSTER=%q\nETCD_INITIAL_ADVERTISE_PEER_URLS=%q\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n",
			name, strings.Join(conf, ","), o.peerURLs)
		return nil
	})
}

// memberUpdateOpts are member update's flags.
type memberUpdateOpts struct{ peerURLs string }

func (o *memberUpdateOpts) flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.peerURLs, "peer-urls", "", "comma separated peer URLs for the updated member.")
}

func (o *memberUpdateOpts) run(a *app, args []string) error {
	if len(args) == 1 && o.peerURLs == "" {
		return fail(exitBadArgs, "member peer urls not provided")
	}
	update := func(c *etcd.Client, ctx context.Context, id uint64) (etcd.MemberChange, error) {
		return c.MemberUpdate(ctx, id, strings.Split(o.peerURLs, ","))
	}
	return memberByID("updated in", update)(a, args)
}

// memberByID runs a change of the member whose hexadecimal ID is the one argument, and
// prints it as etcdctl does: "Member <id> removed from cluster <cluster id>".
func memberByID(verb string, change func(*etcd.Client, context.Context, uint64) (etcd.MemberChange, error)) runFunc {
	return func(a *app, args []string) error {
		if len(args) != 1 {
			return fail(exitBadArgs, "member ID is not provided")
		}
		id, err := strconv.ParseUint(args[0], 16, 64)
		if err != nil {
			return fail(exitBadArgs, "bad member ID arg (%v), expecting ID in Hex", err)
		}
		return a.call(func(ctx context.Context, c *etcd.Client) error {
			ch, err := change(c, ctx, id)
			if err != nil {
				return err
			}
			switch a.g.writeOut {
			case "json":
				return printJSON(a.stdout, memberChangeJSON(ch))
			case "protobuf":
				_, err := a.stdout.Write(pbMemberChange(ch, false))
				return err
			}
			fmt.Fprintf(a.stdout, "Member %16x %s cluster %16x\n", id, verb, ch.Header.ClusterID)
			return nil
		})
	}
}

// jsonMemberChange is a membership change's answer (MemberAddResponse and the others).
type jsonMemberChange struct {
	Header  *jsonHeader  `json:"header,omitempty"`
	Member  *jsonMember  `json:"member,omitempty"`
	Members []jsonMember `json:"members,omitempty"`
}

func memberChangeJSON(ch etcd.MemberChange) jsonMemberChange {
	out := jsonMemberChange{Header: headerJSON(ch.Header)}
	if ch.Member.ID != 0 {
		m := jsonMember(ch.Member)
		out.Member = &m
	}
	for _, m := range ch.Members {
		out.Members = append(out.Members, jsonMember(m))
	}
	return out
}
