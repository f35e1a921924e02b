package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/etcdkit/etcdkit/cmd/internal/kit/etcd"
)

// version is etcdkit's version; apiVersion the etcd API its stubs speak.
const (
	version    = "0.1.0"
	apiVersion = "3.7"
)

func init() {
	register(&command{path: "member list", use: "member list", short: "Lists all members in the cluster",
		define: withOptions[memberListOpts]})
	register(&command{path: "endpoint status", use: "endpoint status",
		short: "Prints out the status of endpoints specified in `--endpoints` flag", define: withOptions[statusOpts]})
	register(&command{path: "endpoint health", use: "endpoint health",
		short: "Checks the healthiness of endpoints specified in `--endpoints` flag", define: withOptions[healthOpts]})
	register(&command{path: "version", use: "version", short: "Prints the version of etcdkit", define: noFlags(runVersion)})
}

// memberListOpts are member list's flags.
type memberListOpts struct{ consistency string }

func (o *memberListOpts) flags(fs *flagSet) {
	fs.stringVar(&o.consistency, "consistency", "l", "Linearizable(l) or Serializable(s)")
}

func (o *memberListOpts) run(a *app, _ []string) error {
	var opts []etcd.ReadOption
	switch o.consistency {
	case "s":
		opts = append(opts, etcd.Serializable())
	case "l":
	default:
		return fail(exitBadFeature, "unknown consistency flag %q", o.consistency)
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		members, h, err := c.MemberList(ctx, opts...)
		if err != nil {
			return err
		}
		if a.json() {
			return printJSON(a.stdout, membersJSON(members, h))
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

// epOpts are the endpoint commands' flags.
type epOpts struct{ cluster bool }

func (o *epOpts) flags(fs *flagSet) {
	fs.boolVar(&o.cluster, "cluster", "use all endpoints from the cluster member list")
}

// statusOpts and healthOpts run endpoint status and endpoint health.
type (
	statusOpts struct{ epOpts }
	healthOpts struct{ epOpts }
)

// endpoints are the endpoints to check: --endpoints, or with --cluster every member's
// client URLs.
func (o *epOpts) endpoints(a *app) ([]string, error) {
	if !o.cluster {
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

func (o *statusOpts) run(a *app, _ []string) error {
	eps, err := o.endpoints(a)
	if err != nil {
		return err
	}
	var list []etcd.Status
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
		st.Endpoint = ep // as given, scheme included
		list = append(list, st)
	}
	if a.json() {
		out := make([]jsonStatus, len(list))
		for i, st := range list {
			out[i] = statusJSON(st)
		}
		if err := printJSON(a.stdout, out); err != nil {
			return err
		}
	} else {
		for _, st := range list {
			notInUse := 0
			if st.DBSize > 0 {
				notInUse = int(100 - st.DBSizeInUse*100/st.DBSize)
			}
			var downgrade etcd.Downgrade
			if st.Downgrade != nil {
				downgrade = *st.Downgrade
			}
			fmt.Fprintf(a.stdout, "%s, %x, %s, %s, %s, %s, %d%%, %s, %t, %t, %d, %d, %d, %s, %s, %t\n",
				st.Endpoint, st.Header.MemberID, st.Version, st.StorageVersion,
				siBytes(uint64(st.DBSize)), siBytes(uint64(st.DBSizeInUse)), notInUse,
				siBytes(uint64(st.DBSizeQuota)), st.Leader == st.Header.MemberID,
				st.IsLearner, st.RaftTerm, st.RaftIndex, st.RaftAppliedIndex,
				strings.Join(st.Errors, ", "), downgrade.TargetVersion, downgrade.Enabled)
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

// run (endpoint health) reads a key from each endpoint, in parallel, and lists the cluster's
// alarms, as etcdctl does: a permission error still proves the endpoint healthy; an active
// alarm, or failing to list the alarms, makes it unhealthy.
func (o *healthOpts) run(a *app, _ []string) error {
	eps, err := o.endpoints(a)
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
