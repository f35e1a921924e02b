package etcdtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// put and get go through etcd's JSON gateway, so that these tests need no gRPC stubs.
func put(ctx context.Context, m *Member, key, value string) error {
	body := `{"key":"` + b64(key) + `","value":"` + b64(value) + `"}`
	var out struct{}
	return m.call(ctx, http.MethodPost, "/v3/kv/put", []byte(body), &out)
}

func get(ctx context.Context, m *Member, key string) (string, error) {
	var out struct {
		KVs []struct {
			Value string `json:"value"`
		} `json:"kvs"`
	}
	if err := m.call(ctx, http.MethodPost, "/v3/kv/range", []byte(`{"key":"`+b64(key)+`"}`), &out); err != nil {
		return "", err
	}
	if len(out.KVs) == 0 {
		return "", errors.New("no such key")
	}
	v, err := base64.StdEncoding.DecodeString(out.KVs[0].Value)
	return string(v), err
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestVersions(t *testing.T) {
	for _, version := range []string{DefaultVersion(), OldVersion(), DebianVersion()} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			c := StartCluster(t, Options{Version: version})
			t.Logf("single member %s healthy after %v", version, time.Since(start))
			ctx := timeout(t, 10*time.Second)
			m := c.Members[0]
			got, err := m.ServerVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimPrefix(version, "v"); got != want {
				t.Fatalf("/version says %q, want %q", got, want)
			}
			st, err := m.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Version != got || st.MemberID == 0 || st.Leader != st.MemberID || st.RaftTerm == 0 {
				t.Fatalf("status %+v: want version %s and itself as leader", st, got)
			}
			if c.Version != version || len(c.Endpoints()) != 1 || c.Endpoints()[0] != m.DirectEndpoint() {
				t.Fatalf("cluster %s endpoints %v, member listens on %s", c.Version, c.Endpoints(), m.DirectEndpoint())
			}
			if want := "http://" + m.Endpoint(); c.ClientURLs()[0] != want {
				t.Fatalf("ClientURLs %v, want [%s]", c.ClientURLs(), want)
			}
			args := strings.Join(m.args, " ")
			if noFsync := strings.Contains(args, "--unsafe-no-fsync"); noFsync != (version != DebianVersion()) {
				t.Fatalf("--unsafe-no-fsync given: %v, for %s", noFsync, version)
			}
		})
	}
}

func TestThreeMembersSurviveLosingTheLeader(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := StartCluster(t, Options{Size: 3})
	t.Logf("three members healthy after %v", time.Since(start))
	ctx := timeout(t, 30*time.Second)
	if len(c.Members) != 3 {
		t.Fatalf("%d members", len(c.Members))
	}
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, leader, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	if leader.Running() || leader.PID() != 0 {
		t.Fatal("killed leader still running")
	}
	if err := leader.Kill(); err != nil {
		t.Fatalf("second Kill: %v", err)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatalf("the other two: %v", err)
	}
	next, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if next == leader {
		t.Fatal("the killed member is still the leader")
	}
	if err := put(ctx, next, "k", "v2"); err != nil {
		t.Fatalf("write without the old leader: %v", err)
	}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	if got, err := get(ctx, leader, "k"); err != nil || got != "v2" {
		t.Fatalf("restarted member reads %q, %v; want v2", got, err)
	}
}

func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, Options{})
	m := c.Members[0]
	ctx := timeout(t, 30*time.Second)
	if err := put(ctx, m, "kept", "yes"); err != nil {
		t.Fatal(err)
	}
	pid, addr := m.PID(), m.Endpoint()
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	if m.PID() == pid || m.PID() == 0 || m.Endpoint() != addr {
		t.Fatalf("after Restart: pid %d (was %d), endpoint %s (was %s)", m.PID(), pid, m.Endpoint(), addr)
	}
	if got, err := get(ctx, m, "kept"); err != nil || got != "yes" {
		t.Fatalf("after Restart: %q, %v", got, err)
	}
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := m.Healthy(ctx); err == nil {
		t.Fatal("killed member answers")
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	if got, err := get(ctx, m, "kept"); err != nil || got != "yes" {
		t.Fatalf("after Kill and Cluster.Restart: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(m.DataDir, "member")); err != nil {
		t.Fatal(err)
	}
}

func TestPauseResume(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, Options{})
	m := c.Members[0]
	if err := m.Pause(); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := m.Healthy(short)
	cancel()
	if err == nil {
		t.Fatal("paused member answered")
	}
	if err := m.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := m.WaitHealthy(timeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Stop must work on a paused member too.
	if err := m.Pause(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("stopping a paused member took %v", took)
	}
	if err := m.Pause(); err == nil {
		t.Fatal("pausing a stopped member succeeded")
	}
}

func TestProxiedCluster(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, Options{Proxy: true})
	m := c.Members[0]
	p := m.Proxy()
	if p == nil || m.Endpoint() != p.Addr() || p.Target() != m.DirectEndpoint() {
		t.Fatalf("member %s at %s, proxy %v", m.Name, m.DirectEndpoint(), p)
	}
	if !strings.Contains(strings.Join(m.args, " "), "--advertise-client-urls=http://"+p.Addr()) {
		t.Fatalf("member does not advertise its proxy: %v", m.args)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	fetch := func(wait time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.ClientURLs()[0]+"/version", nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := fetch(5 * time.Second); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Blackhole()
	if err := fetch(300 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("through a blackhole: %v, want a timeout", err)
	}
	// The harness itself bypasses the proxy.
	if err := m.Healthy(timeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	p.Unblackhole()
	if err := fetch(5 * time.Second); err != nil {
		t.Fatalf("after Unblackhole: %v", err)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	for _, certAuth := range []bool{false, true} {
		name := map[bool]string{false: "server-only", true: "client-cert-auth"}[certAuth]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := StartCluster(t, Options{TLS: true, ClientCertAuth: certAuth})
			if c.TLS == nil || c.ClientTLS() == nil {
				t.Fatal("no TLS material")
			}
			url := c.ClientURLs()[0]
			if !strings.HasPrefix(url, "https://127.0.0.1:") {
				t.Fatalf("client URL %s", url)
			}
			ca, err := os.ReadFile(c.TLS.CAFile)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(ca)
			for _, tc := range []struct {
				name string
				cfg  *tls.Config
				ok   bool
			}{
				{"full", c.ClientTLS(), true},
				{"no CA", &tls.Config{Certificates: c.ClientTLS().Certificates}, false},
				{"CA, no client cert", &tls.Config{RootCAs: pool}, !certAuth},
			} {
				client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc.cfg, DisableKeepAlives: true}}
				resp, err := client.Get(url + "/health")
				if err == nil {
					resp.Body.Close()
				}
				if (err == nil) != tc.ok {
					t.Errorf("%s: %v, want success %v", tc.name, err, tc.ok)
				}
				var unknown x509.UnknownAuthorityError
				if tc.name == "no CA" && !errors.As(err, &unknown) {
					t.Errorf("no CA: %v, want an unknown-authority error", err)
				}
				client.CloseIdleConnections()
			}
		})
	}
}

func TestRequireBinarySkipsWhenMissing(t *testing.T) {
	t.Setenv(CacheEnv, t.TempDir())
	t.Setenv("CI", "")
	_, err := BinaryPath("etcd", "v3.0.0")
	if !errors.Is(err, ErrNoBinary) || !strings.Contains(err.Error(), "make etcd") {
		t.Fatalf("BinaryPath: %v", err)
	}
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		RequireBinary(t, "etcd", "v3.0.0")
	})
	if !skipped {
		t.Fatal("a missing binary did not skip the test")
	}
}

func TestBinaryPathFindsTheRepository(t *testing.T) {
	t.Setenv(CacheEnv, "")
	t.Setenv(VersionEnv, "")
	if Version() != DefaultVersion() || Version() == "" {
		t.Fatalf("Version() = %s", Version())
	}
	t.Setenv(VersionEnv, "v3.5.35")
	if Version() != "v3.5.35" {
		t.Fatalf("Version() = %s with %s set", Version(), VersionEnv)
	}
	dir, err := cacheDir()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(filepath.Dir(filepath.Dir(wd)), ".cache"); dir != want {
		t.Fatalf("cache %s, want %s", dir, want)
	}
	// From a directory holding neither, the search fails rather than guessing.
	t.Chdir(t.TempDir())
	if _, err := cacheDir(); !errors.Is(err, ErrNoBinary) {
		t.Fatalf("outside the repository: %v", err)
	}
}

func TestAtLeast(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    bool
	}{
		{"v3.4.23", false}, {"v3.5.0", true}, {"v3.7.3", true}, {"v2.3.8", false},
		{"v4.0.0", true}, {"main", true}, {"v3.x", true},
	} {
		if got := atLeast(tc.version, 3, 5); got != tc.want {
			t.Errorf("atLeast(%q, 3, 5) = %v", tc.version, got)
		}
	}
}

// TestStartRetriesTakenPort hands the first attempt a client port that is already bound, as
// when another process takes a picked port before etcd binds it: StartCluster must start over
// with new ports.
func TestStartRetriesTakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	calls := 0
	pickPorts = func(n int) ([]int, error) {
		calls++
		ports, err := freePorts(n)
		if calls == 1 && err == nil {
			ports[0] = taken.Addr().(*net.TCPAddr).Port
		}
		return ports, err
	}
	defer func() { pickPorts = freePorts }()
	c := StartCluster(t, Options{})
	if calls != 2 || c.Members[0].DirectEndpoint() == taken.Addr().String() {
		t.Fatalf("%d attempts, member on %s, taken %s", calls, c.Members[0].DirectEndpoint(), taken.Addr())
	}
}

// TestStartFailureShowsLog runs a cluster with a flag etcd rejects in a child test process and
// expects that test to fail quickly, quoting etcd's complaint from the member's log.
func TestStartFailureShowsLog(t *testing.T) {
	if os.Getenv("ETCDTEST_CHILD") == "1" {
		StartCluster(t, Options{Args: []string{"--no-such-flag"}})
		return
	}
	RequireBinary(t, "etcd", "")
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStartFailureShowsLog$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ETCDTEST_CHILD=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child test passed:\n%s", out)
	}
	for _, want := range []string{"etcdtest: starting 1-member etcd", "exited", "no-such-flag", "--- FAIL"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("failing start took %v", took)
	}
}
