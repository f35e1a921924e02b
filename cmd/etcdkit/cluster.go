package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// version is etcdkit's version; apiVersion the etcd API its stubs speak.
const (
	version    = "0.1.0"
	apiVersion = "3.7"
)

func init() {
	register(&command{path: "member list", use: "member list", short: "Lists all members in the cluster",
		flags: func(_ *app, fs *flagSet) {
			fs.stringVar(&memberConsistency, "consistency", "l", "Linearizable(l) or Serializable(s)")
		},
		run: runMemberList})
	register(&command{path: "endpoint status", use: "endpoint status",
		short: "Prints out the status of endpoints specified in `--endpoints` flag", flags: epFlags, run: runEndpointStatus})
	register(&command{path: "endpoint health", use: "endpoint health",
		short: "Checks the healthiness of endpoints specified in `--endpoints` flag", flags: epFlags, run: runEndpointHealth})
	register(&command{path: "version", use: "version", short: "Prints the version of etcdkit", run: runVersion})
}

var (
	memberConsistency string
	epCluster         bool
)

func epFlags(_ *app, fs *flagSet) {
	epCluster = false
	fs.boolVar(&epCluster, "cluster", "use all endpoints from the cluster member list")
}

func runMemberList(a *app, _ []string) error {
	var serializable bool
	switch memberConsistency {
	case "s":
		serializable = true
	case "l":
	default:
		return fail(exitBadFeature, "unknown consistency flag %q", memberConsistency)
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		members, h, err := memberList(ctx, c, serializable)
		if err != nil {
			return err
		}
		if a.json() {
			type member struct {
				ID         uint64   `json:"ID,omitempty"`
				Name       string   `json:"name,omitempty"`
				PeerURLs   []string `json:"peerURLs,omitempty"`
				ClientURLs []string `json:"clientURLs,omitempty"`
				IsLearner  bool     `json:"isLearner,omitempty"`
			}
			list := make([]member, len(members))
			for i, m := range members {
				list[i] = member(m)
			}
			return printJSON(a.stdout, struct {
				Header  *jsonHeader `json:"header,omitempty"`
				Members []member    `json:"members,omitempty"`
			}{headerJSON(h), list})
		}
		for _, m := range members {
			status := "started"
			if m.Name == "" {
				status = "unstarted"
			}
			fmt.Fprintf(a.stdout, "%x, %s, %s, %s, %s, %t\n", m.ID, status, m.Name,
				strings.Join(m.PeerURLs, ","), strings.Join(m.ClientURLs, ","), m.IsLearner)
		}
		return nil
	})
}

// memberList lists the members through package etcd, which always asks for a linearizable
// list. A serializable list (--consistency=s) goes to the Cluster service through
// Client.Conn: etcd.MemberList has no option for it.
func memberList(ctx context.Context, c *etcd.Client, serializable bool) ([]etcd.Member, etcd.Header, error) {
	if !serializable {
		return c.MemberList(ctx)
	}
	resp, err := etcdserverpb.NewClusterClient(c.Conn()).MemberList(ctx, &etcdserverpb.MemberListRequest{})
	if err != nil {
		return nil, etcd.Header{}, err
	}
	members := make([]etcd.Member, len(resp.GetMembers()))
	for i, m := range resp.GetMembers() {
		members[i] = etcd.Member{ID: m.GetID(), Name: m.GetName(), PeerURLs: m.GetPeerURLs(), ClientURLs: m.GetClientURLs(), IsLearner: m.GetIsLearner()}
	}
	h := resp.GetHeader()
	return members, etcd.Header{ClusterID: h.GetClusterId(), MemberID: h.GetMemberId(), Revision: h.GetRevision(), RaftTerm: h.GetRaftTerm()}, nil
}

// epEndpoints are the endpoints to check: --endpoints, or with --cluster every member's
// client URLs.
func (a *app) epEndpoints() ([]string, error) {
	if !epCluster {
		return a.endpoints(), nil
	}
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx, cancel := a.commandCtx()
	defer cancel()
	members, _, err := c.MemberList(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch endpoints from etcd cluster member list: %s", errText(err))
	}
	var eps []string
	for _, m := range members {
		eps = append(eps, m.ClientURLs...)
	}
	return eps, nil
}

func runEndpointStatus(a *app, _ []string) error {
	eps, err := a.epEndpoints()
	if err != nil {
		return err
	}
	type epStatus struct {
		Ep   string                       `json:"Endpoint"`
		Resp *etcdserverpb.StatusResponse `json:"Status"`
	}
	var list []epStatus
	failed := false
	for _, ep := range eps {
		c, err := a.clientFor([]string{ep})
		if err != nil {
			return err
		}
		ctx, cancel := a.commandCtx()
		st, err := c.Status(ctx, ep)
		cancel()
		c.Close()
		if err != nil {
			failed = true
			fmt.Fprintf(a.stderr, "Failed to get the status of endpoint %s (%s)\n", ep, errText(err))
			continue
		}
		list = append(list, epStatus{ep, st.Raw})
	}
	if a.json() {
		if err := printJSON(a.stdout, list); err != nil {
			return err
		}
	} else {
		for _, s := range list {
			r := s.Resp
			notInUse := 0
			if r.GetDbSize() > 0 {
				notInUse = int(100 - r.GetDbSizeInUse()*100/r.GetDbSize())
			}
			fmt.Fprintf(a.stdout, "%s, %x, %s, %s, %s, %s, %d%%, %s, %t, %t, %d, %d, %d, %s, %s, %t\n",
				s.Ep, r.GetHeader().GetMemberId(), r.GetVersion(), r.GetStorageVersion(),
				siBytes(uint64(r.GetDbSize())), siBytes(uint64(r.GetDbSizeInUse())), notInUse,
				siBytes(uint64(r.GetDbSizeQuota())), r.GetLeader() == r.GetHeader().GetMemberId(),
				r.GetIsLearner(), r.GetRaftTerm(), r.GetRaftIndex(), r.GetRaftAppliedIndex(),
				strings.Join(r.GetErrors(), ", "), r.GetDowngradeInfo().GetTargetVersion(), r.GetDowngradeInfo().GetEnabled())
		}
	}
	if failed {
		return &exitErr{code: exitError}
	}
	return nil
}

type epHealth struct {
	Ep     string `json:"endpoint"`
	Health bool   `json:"health"`
	Took   string `json:"took"`
	Error  string `json:"error,omitempty"`
}

// runEndpointHealth reads a key from each endpoint, in parallel, and lists the cluster's
// alarms, as etcdctl does: a permission error still proves the endpoint healthy; an active
// alarm, or failing to list the alarms, makes it unhealthy.
func runEndpointHealth(a *app, _ []string) error {
	eps, err := a.epEndpoints()
	if err != nil {
		return err
	}
	results := make([]epHealth, len(eps))
	var wg sync.WaitGroup
	for i, ep := range eps {
		wg.Go(func() { results[i] = a.health(ep) })
	}
	wg.Wait()
	unhealthy := false
	for _, h := range results {
		if h.Error != "" {
			unhealthy = true
		}
	}
	if a.json() {
		if err := printJSON(a.stdout, results); err != nil {
			return err
		}
	} else {
		for _, h := range results {
			if h.Error == "" {
				fmt.Fprintf(a.stdout, "%s is healthy: successfully committed proposal: took = %v\n", h.Ep, h.Took)
			} else {
				fmt.Fprintf(a.stderr, "%s is unhealthy: failed to commit proposal: %v\n", h.Ep, h.Error)
			}
		}
	}
	if unhealthy {
		return errors.New("unhealthy cluster")
	}
	return nil
}

func (a *app) health(ep string) epHealth {
	c, err := a.clientFor([]string{ep})
	if err != nil {
		return epHealth{Ep: ep, Error: errText(err)}
	}
	defer c.Close()
	ctx, cancel := a.commandCtx()
	defer cancel()
	start := time.Now()
	_, err = c.Range(ctx, etcd.Key("health"))
	h := epHealth{Ep: ep, Took: time.Since(start).String()}
	if err != nil && !errors.Is(err, etcd.ErrPermissionDenied) {
		h.Error = errText(err)
		return h
	}
	alarms, err := c.Alarms(ctx)
	switch {
	case err != nil:
		h.Error = "Unable to fetch the alarm list"
	case len(alarms) > 0:
		h.Error = "Active Alarm(s): "
		for _, al := range alarms {
			switch al.Type {
			case "NOSPACE", "CORRUPT":
				h.Error += al.Type + " "
			default:
				h.Error += "UNKNOWN "
			}
		}
	default:
		h.Health = true
	}
	return h
}

func runVersion(a *app, _ []string) error {
	fmt.Fprintf(a.stdout, "etcdkit version: %s\nAPI version: %s\n", version, apiVersion)
	return nil
}
