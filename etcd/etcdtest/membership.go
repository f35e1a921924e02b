package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AddMember adds a member on new ports (behind a proxy of its own when the cluster has
// proxies) the way an operator does: etcd's member add, asked of a running member, then the
// new process started with --initial-cluster-state=existing. It waits until the member is
// healthy (caught up), appends it to Members and returns it. Options.Snapshot, UnixSocket and
// TLS are not supported for added members.
func (c *Cluster) AddMember(ctx context.Context) (*Member, error) {
	if c.opts.Snapshot != "" || c.opts.UnixSocket || c.TLS != nil {
		return nil, errors.New("etcdtest: AddMember supports plain-HTTP TCP members only")
	}
	ports, err := pickPorts(2)
	if err != nil {
		return nil, err
	}
	name := "m" + strconv.Itoa(c.named)
	m := &Member{
		Name:    name,
		DataDir: filepath.Join(c.dir, name+".etcd"),
		LogFile: filepath.Join(c.dir, name+".log"),
		cluster: c,
		direct:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		peerURL: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		scheme:  "http",
	}
	if err := c.proxies(m); err != nil {
		return nil, err
	}
	asked := c.runningMember()
	if asked == nil {
		return nil, errors.New("etcdtest: no running member to add a member through")
	}
	body := fmt.Sprintf(`{"peerURLs":[%q]}`, m.PeerURL())
	if err := reconfigure(ctx, asked, "/v3/cluster/member/add", body); err != nil {
		return nil, err
	}
	c.named++
	initial := []string{m.Name + "=" + m.PeerURL()}
	for _, x := range c.Members {
		initial = append(initial, x.Name+"="+x.PeerURL())
	}
	m.args = c.args(m, strings.Join(initial, ","), c.token)
	i := slices.Index(m.args, "--initial-cluster-state=new")
	m.args[i] = "--initial-cluster-state=existing"
	if err := m.launch(); err != nil {
		return nil, err
	}
	c.Members = append(c.Members, m)
	wctx, cancel := context.WithTimeout(ctx, c.opts.StartTimeout)
	defer cancel()
	return m, m.WaitHealthy(wctx)
}

// RemoveMember removes m from the cluster with etcd's member remove, asked of another
// running member, and waits for m's process to exit (a removed member shuts itself down; it
// is killed after a few seconds) and closes its proxy. m leaves Members.
func (c *Cluster) RemoveMember(ctx context.Context, m *Member) error {
	st, err := m.Status(ctx)
	if err != nil {
		return err
	}
	var asked *Member
	for _, x := range c.Members {
		if x != m && x.Running() {
			asked = x
			break
		}
	}
	if asked == nil {
		return errors.New("etcdtest: no other running member to remove a member through")
	}
	body := fmt.Sprintf(`{"ID":"%d"}`, st.MemberID)
	if err := reconfigure(ctx, asked, "/v3/cluster/member/remove", body); err != nil {
		return err
	}
	c.Members = slices.DeleteFunc(c.Members, func(x *Member) bool { return x == m })
	if p := m.running(); p != nil {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			err = m.Kill()
		}
	}
	m.closeProxies()
	return err
}

// runningMember returns a running member, or nil.
func (c *Cluster) runningMember() *Member {
	for _, m := range c.Members {
		if m.Running() {
			return m
		}
	}
	return nil
}

// reconfigure asks member m for a membership change. etcd refuses one that would leave too
// few members it has heard from for a few seconds ("unhealthy cluster"), and on a loaded
// machine the answer may come after the call's deadline: both are retried every 200 ms
// until ctx ends. A retried change that finds itself done (the member is there, or gone)
// succeeded.
func reconfigure(ctx context.Context, m *Member, path, body string) error {
	for retried := false; ; retried = true {
		var out struct{}
		err := m.call(ctx, http.MethodPost, path, []byte(body), &out)
		if err == nil {
			return nil
		}
		msg := err.Error()
		if retried && (strings.Contains(msg, "already exists") || strings.Contains(msg, "member not found")) {
			return nil
		}
		if !strings.Contains(msg, "unhealthy cluster") && !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(msg, "timed out") {
			return err
		}
		if serr := sleep(ctx, 200*time.Millisecond); serr != nil {
			return fmt.Errorf("%w (%w)", err, serr)
		}
	}
}
