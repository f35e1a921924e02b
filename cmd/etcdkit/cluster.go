package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

// version is etcdkit's version; apiVersion the etcd API its stubs speak.
const (
	version    = "0.1.0"
	apiVersion = "3.7"
)

func init() {
	register(&command{path: "member list", use: "member list", short: "Lists all members in the cluster",
		define: withOptions[memberListOpts], formats: "fields table protobuf"})
	register(&command{path: "endpoint status", use: "endpoint status",
		short: "Prints out the status of endpoints specified in `--endpoints` flag", define: withOptions[statusOpts], formats: "fields table"})
	register(&command{path: "endpoint health", use: "endpoint health",
		short: "Checks the healthiness of endpoints specified in `--endpoints` flag", define: withOptions[healthOpts], formats: "fields table"})
	register(&command{path: "version", use: "version", short: "Prints the version of etcdkit", define: noFlags(runVersion), formats: textOnly})
}

// memberListOpts are member list's flags.
type memberListOpts struct{ consistency string }

func (o *memberListOpts) flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.consistency, "consistency", "l", "Linearizable(l) or Serializable(s)")
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
		switch a.g.writeOut {
		case "json":
			return printJSON(a.stdout, membersJSON(members, h))
		case "protobuf":
			_, err := a.stdout.Write(pbMembers(h, members))
			return err
		case "fields":
			a.printFieldsHeader(h)
			for _, m := range members {
				fmt.Fprintf(a.stdout, "\"ID\" : %s\n\"Name\" : %q\n", a.fieldsID(m.ID), m.Name)
				for _, u := range m.PeerURLs {
					fmt.Fprintf(a.stdout, "\"PeerURL\" : %q\n", u)
				}
				for _, u := range m.ClientURLs {
					fmt.Fprintf(a.stdout, "\"ClientURL\" : %q\n", u)
				}
				fmt.Fprintf(a.stdout, "\"IsLearner\" : %t\n\n", m.IsLearner)
			}
			return nil
		}
		rows := make([][]string, len(members))
		for i, m := range members {
			status := "started"
			if m.Name == "" {
				status = "unstarted"
			}
			rows[i] = []string{fmt.Sprintf("%x", m.ID), status, m.Name,
				strings.Join(m.PeerURLs, ","), strings.Join(m.ClientURLs, ","), fmt.Sprint(m.IsLearner)}
		}
		a.printRows([]string{"ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"}, rows)
		return nil
	})
}

// epOpts are the endpoint commands' flags.
type epOpts struct{ cluster bool }

func (o *epOpts) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.cluster, "cluster", false, "use all endpoints from the cluster member list")
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
	switch a.g.writeOut {
	case "json":
		out := make([]jsonStatus, len(list))
		for i, st := range list {
			out[i] = statusJSON(st)
		}
		if err := printJSON(a.stdout, out); err != nil {
			return err
		}
	case "fields":
		for _, st := range list {
			a.printFieldsHeader(st.Header)
			downgrade := downgradeOf(st)
			fmt.Fprintf(a.stdout, "\"Version\" : %q\n\"StorageVersion\" : %q\n\"DBSize\" : %d\n\"DBSizeInUse\" : %d\n"+
				"\"DBSizeQuota\" : %d\n\"Leader\" : %d\n\"IsLearner\" : %t\n\"RaftIndex\" : %d\n\"RaftAppliedIndex\" : %d\n"+
				"\"Errors\" : %v\n\"Endpoint\" : %q\n\"DowngradeTargetVersion\" : %q\n\"DowngradeEnabled\" : %t\n\n",
				st.Version, st.StorageVersion, st.DBSize, st.DBSizeInUse, st.DBSizeQuota, st.Leader, st.IsLearner,
				st.RaftIndex, st.RaftAppliedIndex, st.Errors, st.Endpoint, downgrade.TargetVersion, downgrade.Enabled)
		}
	default:
		rows := make([][]string, len(list))
		for i, st := range list {
			notInUse := 0
			if st.DBSize > 0 {
				notInUse = int(100 - st.DBSizeInUse*100/st.DBSize)
			}
			downgrade := downgradeOf(st)
			rows[i] = []string{st.Endpoint, fmt.Sprintf("%x", st.Header.MemberID), st.Version, st.StorageVersion,
				siBytes(uint64(st.DBSize)), siBytes(uint64(st.DBSizeInUse)), fmt.Sprintf("%d%%", notInUse),
				siBytes(uint64(st.DBSizeQuota)), fmt.Sprint(st.Leader == st.Header.MemberID),
				fmt.Sprint(st.IsLearner), fmt.Sprint(st.RaftTerm), fmt.Sprint(st.RaftIndex), fmt.Sprint(st.RaftAppliedIndex),
				strings.Join(st.Errors, ", "), downgrade.TargetVersion, fmt.Sprint(downgrade.Enabled)}
		}
		a.printRows([]string{"endpoint", "ID", "version", "storage version", "db size", "in use", "percentage not in use", "quota",
			"is leader", "is learner", "raft term", "raft index", "raft applied index", "errors", "downgrade target version",
			"downgrade enabled"}, rows)
	}
	if failed {
		return &exitErr{code: exitError}
	}
	return nil
}

// downgradeOf is a status's downgrade information, zero when the server sends none.
func downgradeOf(st etcd.Status) etcd.Downgrade {
	if st.Downgrade != nil {
		return *st.Downgrade
	}
	return etcd.Downgrade{}
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
	switch a.g.writeOut {
	case "json":
		if err := printJSON(a.stdout, results); err != nil {
			return err
		}
	case "fields":
		for _, h := range results {
			fmt.Fprintf(a.stdout, "\"Endpoint\" : %q\n\"Health\" : %t\n\"Took\" : %s\n\"Error\" : %s\n\n", h.Ep, h.Health, h.Took, h.Error)
		}
	case "table":
		rows := make([][]string, len(results))
		for i, h := range results {
			rows[i] = []string{h.Ep, fmt.Sprint(h.Health), h.Took, h.Error}
		}
		a.printRows([]string{"endpoint", "health", "took", "error"}, rows)
	default:
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
	alarms, _, err := c.AlarmList(ctx)
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
