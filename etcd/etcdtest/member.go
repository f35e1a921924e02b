package etcdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stopTimeout bounds how long Stop waits for a member to exit after SIGTERM before killing it.
const stopTimeout = 10 * time.Second

// A Member is one etcd process of a Cluster. Its data directory and ports stay the same across
// Stop, Kill and Start. Its methods are safe for concurrent use.
type Member struct {
	// Name is the member's etcd name ("m0", "m1", ...).
	Name string
	// DataDir is the member's data directory, under the test's temporary directory.
	DataDir string
	// LogFile receives the member's output, across restarts.
	LogFile string

	cluster *Cluster
	direct  string // host:port etcd listens on for clients
	peerURL string
	// peerProxy is in front of the peer port with Options.PeerProxy; peerID is the member's
	// ID as its peers' X-Server-From header spells it, once CutOff learned it.
	peerProxy *peerProxy
	peerID    string
	scheme    string // http or https
	socket    string // the unix socket it also listens on (Options.UnixSocket), or ""
	proxy     *Proxy
	args      []string

	mu   sync.Mutex
	proc *process // the last process started; nil before the first start
}

// process is one run of a member's etcd.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and err is set
	err  error
}

// Endpoint returns the host:port that clients dial: the proxy's when the member is proxied.
func (m *Member) Endpoint() string {
	if m.proxy != nil {
		return m.proxy.Addr()
	}
	return m.direct
}

// DirectEndpoint returns the host:port the member itself listens on for clients, bypassing its
// proxy.
func (m *Member) DirectEndpoint() string { return m.direct }

// ClientURL returns the client URL the member advertises (http:// or https://), the proxy's
// when the member is proxied.
func (m *Member) ClientURL() string { return m.scheme + "://" + m.Endpoint() }

// listenURLs are the URLs the member listens on for clients.
func (m *Member) listenURLs() []string {
	urls := []string{m.scheme + "://" + m.direct}
	if m.socket != "" {
		urls = append(urls, m.UnixEndpoint())
	}
	return urls
}

// UnixEndpoint returns the unix socket the member also listens on for clients, as an
// endpoint: unix://path, or unixs://path with TLS. Empty without Options.UnixSocket.
func (m *Member) UnixEndpoint() string {
	if m.socket == "" {
		return ""
	}
	return strings.Replace(m.scheme, "http", "unix", 1) + "://" + m.socket
}

// PeerURL returns the member's peer URL, as it advertises it (its peer proxy's with
// Options.PeerProxy).
func (m *Member) PeerURL() string {
	if m.peerProxy != nil {
		return m.peerProxy.url()
	}
	return m.peerURL
}

// Proxy returns the proxy in front of the member's client port, or nil without Options.Proxy.
func (m *Member) Proxy() *Proxy { return m.proxy }

// PID returns the process ID of the running member, or 0 when it is not running.
func (m *Member) PID() int {
	if p := m.running(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// Running reports whether the member's process is running (paused counts as running).
func (m *Member) Running() bool { return m.running() != nil }

func (m *Member) running() *process {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
		return p
	}
}

// Kill sends SIGKILL and waits for the process to exit. Killing a stopped member does nothing.
func (m *Member) Kill() error {
	return m.signalAndWait(os.Kill, 0)
}

// Stop sends SIGTERM (resuming a paused member so that it can act on it) and waits for the
// process to exit, killing it after 10 seconds. Stopping a stopped member does nothing. A
// leader hands its leadership on first; a member of a multi-member cluster takes about a
// second, which etcd gives its peers' connections to close. Kill is the fast way.
func (m *Member) Stop() error {
	return m.signalAndWait(sigTerm, stopTimeout)
}

func (m *Member) signalAndWait(sig os.Signal, grace time.Duration) error {
	p := m.running()
	if p == nil {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("etcdtest: signalling %s: %w", m.Name, err)
	}
	if sig != os.Kill && sigCont != nil {
		p.cmd.Process.Signal(sigCont)
	}
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-p.done:
			return nil
		case <-t.C:
			p.cmd.Process.Kill()
		}
	}
	<-p.done
	return nil
}

// Pause freezes the member with SIGSTOP: it keeps its sockets but answers nothing, as a hung
// or partitioned server would. On Linux it returns once every thread of the process has
// stopped.
func (m *Member) Pause() error {
	if err := m.signal(sigStop); err != nil {
		return err
	}
	if pid := m.PID(); pid != 0 {
		return waitStopped(pid)
	}
	return nil
}

// Resume lets a paused member run again with SIGCONT.
func (m *Member) Resume() error { return m.signal(sigCont) }

func (m *Member) signal(sig os.Signal) error {
	p := m.running()
	if p == nil {
		return fmt.Errorf("etcdtest: member %s is not running", m.Name)
	}
	if sig == nil {
		return fmt.Errorf("etcdtest: pausing processes is not supported here")
	}
	return p.cmd.Process.Signal(sig)
}

// Start starts a stopped member again, with its data directory and ports, and waits until it
// reports itself healthy (bounded by Options.StartTimeout). Being healthy needs a leader: to
// bring back a majority of members, start them from several goroutines, or use Cluster.Restart.
func (m *Member) Start() error {
	if err := m.launch(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.cluster.opts.StartTimeout)
	defer cancel()
	return m.WaitHealthy(ctx)
}

// Restart stops the member with SIGTERM and starts it again, as Stop and Start do.
func (m *Member) Restart() error {
	if err := m.Stop(); err != nil {
		return err
	}
	return m.Start()
}

// launch starts the etcd process without waiting for it to become healthy.
func (m *Member) launch() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		select {
		case <-m.proc.done:
		default:
			return fmt.Errorf("etcdtest: member %s is already running", m.Name)
		}
	}
	log, err := os.OpenFile(m.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("etcdtest: %w", err)
	}
	cmd := exec.Command(m.cluster.binary, m.args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = environ()
	cmd.SysProcAttr = sysProcAttr()
	fmt.Fprintf(log, "=== etcdtest: %s %s\n", cmd.Path, strings.Join(m.args, " "))
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("etcdtest: starting %s: %w", m.Name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		fmt.Fprintf(log, "=== etcdtest: %s exited: %v\n", m.Name, p.err)
		log.Close()
		close(p.done)
	}()
	m.proc = p
	return nil
}

// WaitHealthy polls the member's /health until it reports healthy, the process exits or ctx
// ends. Its errors carry the tail of the member's log.
func (m *Member) WaitHealthy(ctx context.Context) error {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p == nil {
		return fmt.Errorf("etcdtest: member %s was never started", m.Name)
	}
	// A request to a port that something else holds may hang: give up on it when etcd exits.
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-hctx.Done():
		}
	}()
	var last error
	for {
		select {
		case <-p.done:
			return fmt.Errorf("etcdtest: member %s exited (%v); log:\n%s", m.Name, p.err, m.LogTail(20))
		default:
		}
		if last = m.Healthy(hctx); last == nil {
			return nil
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return fmt.Errorf("etcdtest: member %s not healthy: %w (last: %v); log:\n%s",
				m.Name, err, last, m.LogTail(20))
		}
	}
}

// Healthy asks the member's /health once, directly rather than through its proxy, and returns
// nil when the member reports itself healthy.
func (m *Member) Healthy(ctx context.Context) error {
	var h struct {
		Health string `json:"health"`
		Reason string `json:"reason"`
	}
	if err := m.call(ctx, http.MethodGet, "/health", nil, &h); err != nil {
		return err
	}
	if h.Health != "true" {
		return fmt.Errorf("etcdtest: member %s unhealthy: %q", m.Name, h.Reason)
	}
	return nil
}

// ServerVersion returns the etcd version the member reports on /version ("3.7.3").
func (m *Member) ServerVersion(ctx context.Context) (string, error) {
	var v struct {
		Server string `json:"etcdserver"`
	}
	if err := m.call(ctx, http.MethodGet, "/version", nil, &v); err != nil {
		return "", err
	}
	return v.Server, nil
}

// Status is part of a member's answer to the Maintenance Status call.
type Status struct {
	// Version is the server's version ("3.7.3").
	Version string
	// MemberID is the member's ID.
	MemberID uint64
	// Leader is the ID of the member it follows, 0 when it knows no leader.
	Leader uint64
	// RaftTerm is the member's current raft term.
	RaftTerm uint64
	// Revision is the store's current revision.
	Revision int64
}

// Status calls Maintenance Status on the member directly, through etcd's JSON gateway.
func (m *Member) Status(ctx context.Context) (*Status, error) {
	var r struct {
		Header struct {
			MemberID jsonInt `json:"member_id"`
			Revision jsonInt `json:"revision"`
		} `json:"header"`
		Version  string  `json:"version"`
		Leader   jsonInt `json:"leader"`
		RaftTerm jsonInt `json:"raftTerm"`
	}
	if err := m.call(ctx, http.MethodPost, "/v3/maintenance/status", []byte("{}"), &r); err != nil {
		return nil, err
	}
	return &Status{
		Version:  r.Version,
		MemberID: uint64(r.Header.MemberID),
		Leader:   uint64(r.Leader),
		RaftTerm: uint64(r.RaftTerm),
		Revision: int64(r.Header.Revision),
	}, nil
}

// call sends one request to the member's own client URL and decodes its JSON answer into out.
func (m *Member) call(ctx context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, m.scheme+"://"+m.direct+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := m.cluster.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcdtest: %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("etcdtest: %s %s: %w", method, path, err)
	}
	return nil
}

// LogTail returns the last n lines of the member's log, each cut to 500 bytes.
func (m *Member) LogTail(n int) string {
	data, err := os.ReadFile(m.LogFile)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 500 {
			lines[i] = l[:500] + "..."
		}
	}
	return strings.Join(lines, "\n")
}

// jsonInt decodes a 64-bit integer that the JSON gateway writes as a string or a number.
type jsonInt uint64

func (n *jsonInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		i, ierr := strconv.ParseInt(s, 10, 64)
		if ierr != nil {
			return err
		}
		v = uint64(i)
	}
	*n = jsonInt(v)
	return nil
}
