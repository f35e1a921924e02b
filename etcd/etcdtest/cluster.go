package etcdtest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure StartCluster. The zero value starts one plain-HTTP member of Version().
type Options struct {
	// Version is the etcd release to run, as named under the cache ("v3.5.35", DebianVersion()).
	// Empty means Version(): DefaultVersion() unless the environment overrides it.
	Version string
	// Size is the number of members. Zero means 1.
	Size int
	// TLS serves the client URLs over HTTPS with certificates generated for the test (see
	// Cluster.TLS). False serves plain HTTP. Peers always talk plain HTTP.
	TLS bool
	// TLSHosts are the names the members' server certificate is valid for: IP addresses
	// become IP SANs, anything else DNS SANs. Empty means 127.0.0.1, ::1 and localhost. The
	// harness's own health checks reach members under the first name.
	TLSHosts []string
	// ClientCertAuth makes members require a client certificate signed by the test's CA
	// (--client-cert-auth). It implies TLS.
	ClientCertAuth bool
	// Proxy puts a Proxy in front of each member's client port; Endpoints, ClientURLs and the
	// advertised client URLs then name the proxies. False lets clients reach members directly.
	Proxy bool
	// PeerProxy puts a proxy in front of each member's peer port, so that Cluster.CutOff can
	// cut a member off from its peers. False lets peers talk directly.
	PeerProxy bool
	// Args are extra command-line flags for every member, after the harness's own, so that they
	// override them (for example "--heartbeat-interval=100", "--max-request-bytes=1048576").
	Args []string
	// UnixSocket makes every member also listen for clients on a unix socket in its
	// directory (Member.UnixEndpoint). False listens on TCP only.
	UnixSocket bool
	// Snapshot, when set, is a snapshot file (as Client.Snapshot or etcdctl snapshot save
	// write it) that every member's data directory is restored from before its first start,
	// with the release's etcdutl (scripts/etcd.sh etcdutl VERSION); etcdutl checks the
	// snapshot's hash. Empty starts empty members.
	Snapshot string
	// StartTimeout bounds how long starting a member or the cluster may take before the test
	// fails. Zero means 30 seconds.
	StartTimeout time.Duration
}

// Heartbeat and election timing, in milliseconds: short so that elections take a fraction of a
// second, long enough to stay stable on a loaded two-core machine running tests with -race.
const (
	heartbeatMs = 25
	electionMs  = 250
)

// attempts is how often StartCluster picks new ports when another process took one of them
// between being picked and being bound.
const attempts = 3

// A Cluster is a running etcd cluster started by StartCluster. Its members are stopped when
// the test that started it ends.
type Cluster struct {
	// Members are the cluster's members, in start order.
	Members []*Member
	// Version is the etcd release the members run ("v3.7.3").
	Version string
	// TLS names the generated certificate files when the cluster serves TLS, else nil.
	TLS *TLSFiles

	binary    string
	dir       string // the members' files
	token     string // --initial-cluster-token
	named     int    // members named so far (AddMember names the next one)
	ownDir    string // removed by Stop; set by Start
	opts      Options
	clientTLS *tls.Config
	http      *http.Client
}

// StartCluster starts a cluster and waits until every member reports itself healthy, which
// needs an elected leader. It fails the test (with the tail of the members' logs) when that
// does not happen within Options.StartTimeout, and skips it or fails it as RequireBinary does
// when the binary is missing. Everything it starts is stopped by tb.Cleanup, with SIGKILL.
func StartCluster(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	opts = opts.withDefaults()
	binary := RequireBinary(tb, "etcd", opts.Version)
	// The directory is made before the cleanup is registered, so that the cleanup, which kills
	// the members, runs before the directory is removed.
	c, err := startCluster(binary, opts, tb.TempDir(), tb.Logf)
	if err != nil {
		if c != nil {
			c.logTails(tb)
		}
		tb.Fatalf("etcdtest: starting %d-member etcd %s: %v", opts.Size, opts.Version, err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			c.logTails(tb)
		}
		c.stop()
	})
	return c
}

// Start starts a cluster outside a test, for TestMain, runnable examples and demos, and waits
// until it is healthy. The caller must Stop it. A missing binary is ErrNoBinary.
func Start(opts Options) (*Cluster, error) {
	opts = opts.withDefaults()
	binary, err := BinaryPath("etcd", opts.Version)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "etcdtest-")
	if err != nil {
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	c, err := startCluster(binary, opts, dir, func(string, ...any) {})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("etcdtest: starting %d-member etcd %s: %w", opts.Size, opts.Version, err)
	}
	c.ownDir = dir
	return c, nil
}

// Stop kills every member of a cluster from Start and removes its files. Clusters from
// StartCluster stop when their test ends.
func (c *Cluster) Stop() {
	c.stop()
	if c.ownDir != "" {
		os.RemoveAll(c.ownDir)
	}
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Version == "" {
		o.Version = Version()
	}
	if o.Size <= 0 {
		o.Size = 1
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.ClientCertAuth {
		o.TLS = true
	}
	return o
}

// startCluster launches the members under base, picking new ports when one was taken before
// etcd bound it. On failure every member is stopped, and the cluster (when it got that far)
// is returned for its logs.
func startCluster(binary string, opts Options, base string, logf func(string, ...any)) (*Cluster, error) {
	c := &Cluster{Version: opts.Version, opts: opts, binary: binary}
	transport := &http.Transport{DisableKeepAlives: true}
	if opts.TLS {
		files, err := writeTLSFiles(filepath.Join(base, "tls"), opts.TLSHosts)
		if err != nil {
			return nil, fmt.Errorf("generating certificates: %w", err)
		}
		if c.clientTLS, err = files.ClientConfig(); err != nil {
			return nil, err
		}
		if len(opts.TLSHosts) > 0 {
			c.clientTLS.ServerName = opts.TLSHosts[0]
		}
		c.TLS = files
		transport.TLSClientConfig = c.clientTLS
	}
	c.http = &http.Client{Transport: transport}
	var err error
	for try := 1; try <= attempts; try++ {
		if err = c.start(filepath.Join(base, "try"+strconv.Itoa(try))); err == nil {
			return c, nil
		}
		inUse := c.portTaken()
		c.stop()
		if !inUse {
			break
		}
		logf("etcdtest: a port was taken before etcd bound it; starting again (%d/%d)", try, attempts)
	}
	return c, err
}

// logTails logs the last lines of every member's log.
func (c *Cluster) logTails(tb testing.TB) {
	for _, m := range c.Members {
		tb.Logf("etcdtest: member %s log (%s), last lines:\n%s", m.Name, m.LogFile, m.LogTail(40))
	}
}

// start creates and launches the members in dir and waits until they are healthy.
func (c *Cluster) start(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ports, err := pickPorts(2 * c.opts.Size)
	if err != nil {
		return err
	}
	scheme := "http"
	if c.opts.TLS {
		scheme = "https"
	}
	token := make([]byte, 6)
	rand.Read(token)
	c.Members = nil
	var initial []string
	for i := range c.opts.Size {
		m := &Member{
			Name:    "m" + strconv.Itoa(i),
			DataDir: filepath.Join(dir, fmt.Sprintf("m%d.etcd", i)),
			LogFile: filepath.Join(dir, fmt.Sprintf("m%d.log", i)),
			cluster: c,
			direct:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i])),
			peerURL: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i+1])),
			scheme:  scheme,
		}
		if c.opts.UnixSocket {
			m.socket = filepath.Join(dir, fmt.Sprintf("m%d.sock", i))
		}
		if err := c.proxies(m); err != nil {
			return err
		}
		c.Members = append(c.Members, m)
		initial = append(initial, m.Name+"="+m.PeerURL())
	}
	initialCluster, clusterToken := strings.Join(initial, ","), "etcdtest-"+hex.EncodeToString(token)
	c.dir, c.token, c.named = dir, clusterToken, c.opts.Size
	for _, m := range c.Members {
		m.args = c.args(m, initialCluster, clusterToken)
		if err := c.restore(m, initialCluster, clusterToken); err != nil {
			return err
		}
		if err := m.launch(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StartTimeout)
	defer cancel()
	return c.WaitHealthy(ctx)
}

// args returns the command line of member m.
func (c *Cluster) args(m *Member, initialCluster, token string) []string {
	args := []string{
		"--name=" + m.Name,
		"--data-dir=" + m.DataDir,
		"--listen-client-urls=" + strings.Join(m.listenURLs(), ","),
		"--advertise-client-urls=" + m.ClientURL(),
		"--listen-peer-urls=" + m.peerURL,
		"--initial-advertise-peer-urls=" + m.PeerURL(),
		"--initial-cluster=" + initialCluster,
		"--initial-cluster-state=new",
		"--initial-cluster-token=" + token,
		"--heartbeat-interval=" + strconv.Itoa(heartbeatMs),
		"--election-timeout=" + strconv.Itoa(electionMs),
		"--logger=zap",
		"--log-outputs=stderr",
	}
	if atLeast(c.Version, 3, 5) {
		args = append(args, "--unsafe-no-fsync")
	}
	if c.TLS != nil {
		args = append(args, "--cert-file="+c.TLS.ServerCertFile, "--key-file="+c.TLS.ServerKeyFile)
		if c.opts.ClientCertAuth {
			args = append(args, "--trusted-ca-file="+c.TLS.CAFile, "--client-cert-auth")
		}
	}
	return append(args, c.opts.Args...)
}

// restore fills m's data directory from Options.Snapshot with etcdutl, as a member of the
// cluster initialCluster with the given token; without a snapshot it does nothing.
func (c *Cluster) restore(m *Member, initialCluster, token string) error {
	if c.opts.Snapshot == "" {
		return nil
	}
	etcdutl, err := BinaryPath(etcdutlName, c.Version)
	if err != nil {
		return err
	}
	out, err := exec.Command(etcdutl, "restore", c.opts.Snapshot,
		"--data-dir="+m.DataDir,
		"--name="+m.Name,
		"--initial-cluster="+initialCluster,
		"--initial-cluster-token="+token,
		"--initial-advertise-peer-urls="+m.PeerURL(),
	).CombinedOutput()
	if err != nil {
		return fmt.Errorf("etcdtest: restoring %s into member %s: %w\n%s", c.opts.Snapshot, m.Name, err, out)
	}
	return nil
}

// portTaken reports whether a member failed because its port was already bound.
func (c *Cluster) portTaken() bool {
	for _, m := range c.Members {
		if strings.Contains(m.LogTail(50), "address already in use") {
			return true
		}
	}
	return false
}

// stop kills every member and closes every proxy.
func (c *Cluster) stop() {
	var wg sync.WaitGroup
	for _, m := range c.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Kill()
			m.closeProxies()
		}()
	}
	wg.Wait()
	c.http.CloseIdleConnections()
}

// Endpoints returns each member's host:port for clients, the proxy's when proxied.
func (c *Cluster) Endpoints() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.Endpoint()
	}
	return out
}

// EndpointsExcept returns the endpoints of every member but m, for a client that must not
// reach m (a control beside a sick member).
func (c *Cluster) EndpointsExcept(m *Member) []string {
	var out []string
	for _, x := range c.Members {
		if x != m {
			out = append(out, x.Endpoint())
		}
	}
	return out
}

// ClientURLs returns each member's client URL (http:// or https://), the proxy's when proxied.
func (c *Cluster) ClientURLs() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.ClientURL()
	}
	return out
}

// ClientTLS returns a new TLS configuration for clients of a TLS cluster, trusting its CA and
// presenting its client certificate; nil when the cluster serves plain HTTP.
func (c *Cluster) ClientTLS() *tls.Config {
	if c.clientTLS == nil {
		return nil
	}
	return c.clientTLS.Clone()
}

// WaitHealthy waits until every running member reports itself healthy, or ctx ends.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	errs := make([]error, len(c.Members))
	var wg sync.WaitGroup
	for i, m := range c.Members {
		if !m.Running() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = m.WaitHealthy(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Leader returns the member that the running members name as their leader, waiting until
// there is one or ctx ends.
func (c *Cluster) Leader(ctx context.Context) (*Member, error) {
	for {
		byID := map[uint64]*Member{}
		var leaders []uint64
		for _, m := range c.Members {
			if !m.Running() {
				continue
			}
			if st, err := m.Status(ctx); err == nil {
				byID[st.MemberID] = m
				leaders = append(leaders, st.Leader)
			}
		}
		for _, id := range leaders {
			if m := byID[id]; m != nil {
				return m, nil
			}
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return nil, fmt.Errorf("etcdtest: no leader: %w", err)
		}
	}
}

// Restart stops every member with SIGTERM, one after the other, then starts them all again at
// once (so that a quorum can form) and waits until they are healthy.
func (c *Cluster) Restart() error {
	// One at a time: a leader stopping hands its leadership to a live peer, which takes a few
	// milliseconds when the peer stays up and seconds (a request timeout) when it is going too.
	errs := make([]error, len(c.Members))
	for i, m := range c.Members {
		errs[i] = m.Stop()
	}
	for i, m := range c.Members {
		if errs[i] == nil {
			errs[i] = m.launch()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StartTimeout)
	defer cancel()
	return c.WaitHealthy(ctx)
}

// pickPorts is freePorts; tests replace it to take a port away before etcd binds it.
var pickPorts = freePorts

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("etcdtest: picking a port: %w", err)
		}
		defer ln.Close() // held until all are picked, so that none repeats
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// atLeast reports whether version ("v3.5.35") is major.minor or newer; versions it cannot read
// count as new.
func atLeast(version string, major, minor int) bool {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return true
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return ma > major || ma == major && mi >= minor
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// environ is the test's environment without ETCD_* variables, which etcd would read as flags.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") {
			env = append(env, kv)
		}
	}
	return env
}

// proxies starts m's client and peer proxies, as the options ask.
func (c *Cluster) proxies(m *Member) error {
	var err error
	if c.opts.Proxy {
		if m.proxy, err = NewProxy(m.direct); err != nil {
			return err
		}
	}
	if c.opts.PeerProxy {
		if m.peerProxy, err = newPeerProxy(strings.TrimPrefix(m.peerURL, "http://")); err != nil {
			return err
		}
	}
	return nil
}

// closeProxies closes m's proxies.
func (m *Member) closeProxies() {
	if m.proxy != nil {
		m.proxy.Close()
	}
	if m.peerProxy != nil {
		m.peerProxy.close()
	}
}
