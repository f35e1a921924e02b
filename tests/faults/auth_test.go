package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/gen/authpb"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// The auth scenario's user and password; the password must never show in logs or errors.
const (
	authUser     = "faults"
	authPassword = "pw-Zq7-never-logged"
)

// simpleToken matches etcd's simple tokens ("<16 letters>.<index>").
var simpleToken = regexp.MustCompile(`[A-Za-z]{16}\.[0-9]+`)

// enableAuth creates root and authUser (read-write under "auth/") and turns auth on.
func enableAuth(t *testing.T, c *etcd.Client) {
	t.Helper()
	ctx := t.Context()
	a := etcdserverpb.NewAuthClient(c.Conn())
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("enabling auth: %s: %v", what, err)
		}
	}
	for _, user := range []string{"root", authUser} {
		_, err := a.UserAdd(ctx, &etcdserverpb.AuthUserAddRequest{Name: user, Password: authPassword + user})
		check("user "+user, err)
		_, err = a.RoleAdd(ctx, &etcdserverpb.AuthRoleAddRequest{Name: user})
		check("role "+user, err)
		_, err = a.UserGrantRole(ctx, &etcdserverpb.AuthUserGrantRoleRequest{User: user, Role: user})
		check("grant "+user, err)
	}
	_, err := a.RoleGrantPermission(ctx, &etcdserverpb.AuthRoleGrantPermissionRequest{Name: authUser, Perm: &authpb.Permission{
		PermType: authpb.Permission_READWRITE, Key: []byte("auth/"), RangeEnd: etcd.PrefixEnd([]byte("auth/")),
	}})
	check("permission", err)
	_, err = a.AuthEnable(ctx, &etcdserverpb.AuthEnableRequest{})
	check("enable", err)
}

// TestAuthTokenExpiry: tokens live one second (--auth-token-ttl=1) while a watch stream and a
// session's keep-alive stream stay open for several seconds, a writer keeps writing, and the
// proxies drop every connection once (the streams re-open with a fresh token). Nothing is
// lost, no error reaches the caller, and the client's debug log, which records the token
// refreshes, shows neither the password nor a token; neither does a wrong-password error.
func TestAuthTokenExpiry(t *testing.T) {
	cl := startCluster(t, "--auth-token-ttl=1")
	enableAuth(t, newClient(t, fast, cl.Endpoints()...))
	ctx := t.Context()
	var logs lockedBuffer
	cfg := fast
	cfg.Username, cfg.Password = authUser, authPassword+authUser
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, cfg, cl.Endpoints()...)

	start, err := c.Put(ctx, "auth/start", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewSession(ctx, etcd.TTL(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := c.Put(ctx, "auth/session", "", etcd.AttachLease(s.Lease())); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		got      []string
		watchErr error
	)
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ev, err := range c.Watch(wctx, etcd.Prefix("auth/w/"), etcd.FromRevision(start.Header.Revision+1)) {
			mu.Lock()
			if err != nil {
				if wctx.Err() == nil {
					watchErr = err
				}
				mu.Unlock()
				return
			}
			got = append(got, string(ev.KV.Key))
			mu.Unlock()
		}
	}()

	// Bursts of writes separated by idle gaps longer than the token's TTL (a simple token
	// lives while it is used), so that every burst starts with an expired token; after one
	// gap the proxies drop every connection, and the streams re-open with an expired token.
	var sent []string
	var errs []error
	cycles := pick(2, 5)
	for cycle := range cycles {
		for i := range 25 {
			key := fmt.Sprintf("auth/w/%d/%03d", cycle, i)
			if _, err := c.Put(ctx, key, "v"); err != nil {
				errs = append(errs, err)
			} else {
				sent = append(sent, key)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(2500 * time.Millisecond) // the token expires
		if cycle == 0 {
			for _, m := range cl.Members {
				m.Proxy().DropConnections()
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	var received atomic.Int64
	waitUntil(t, 15*time.Second, "the watch receiving every put", func() bool {
		mu.Lock()
		defer mu.Unlock()
		received.Store(int64(len(got)))
		return len(got) >= len(sent) || watchErr != nil
	})
	stopWatch()
	<-watched

	if len(errs) > 0 {
		t.Errorf("%d puts failed across token expiry; first: %v", len(errs), errs[0])
	}
	if watchErr != nil {
		t.Errorf("watch failed across token expiry: %v", watchErr)
	}
	if strings.Join(got, ",") != strings.Join(sent, ",") {
		t.Errorf("watch saw %d events, %d puts were made", len(got), len(sent))
	}
	if err := s.Err(); err != nil {
		t.Errorf("session lost across token expiry: %v", err)
	}
	if _, err := c.Get(ctx, "auth/session"); err != nil {
		t.Errorf("the session's key: %v", err)
	}

	wrongCfg := fast
	wrongCfg.Username, wrongCfg.Password = authUser, authPassword+"-wrong"
	wrong := newClient(t, wrongCfg, cl.Endpoints()...)
	_, werr := wrong.Get(ctx, "auth/start")
	if !errors.Is(werr, etcd.ErrAuthFailed) {
		t.Errorf("wrong password: %v, want ErrAuthFailed", werr)
	}

	log := logs.String()
	refreshes := strings.Count(log, "token rejected")
	for what, text := range map[string]string{"the debug log": log, "the wrong-password error": fmt.Sprint(werr)} {
		if strings.Contains(text, authPassword) {
			t.Errorf("%s shows the password", what)
		}
		if tok := simpleToken.FindString(text); tok != "" {
			t.Errorf("%s shows a token: %s", what, tok)
		}
	}
	if refreshes == 0 {
		t.Errorf("no token refresh in the debug log; the scenario did not expire a token:\n%s", log)
	}
	row{
		scenario: "auth/token-ttl=1s", ops: int64(len(sent) + len(errs)), faults: cycles + 1,
		lost: int64(len(sent)) - received.Load(), ambiguous: int64(len(errs)),
		note: fmt.Sprintf("%d token refreshes logged; %d expiries with watch and keep-alive streams open, 1 drop", refreshes, cycles),
	}.log(t)
}
