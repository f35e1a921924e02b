//etcdkit:needs Lease,Watch,Auth.Authenticate,Auth.AuthEnable,Auth.UserAdd,Auth.UserGrantRole,Auth.RoleAdd,Auth.RoleGrantPermission

package etcd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
	"github.com/etcdkit/etcdkit/etcd/etcdtls"
	"github.com/etcdkit/etcdkit/gen/authpb"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// enableAuth creates root and a user "app" (password "secret") who may read and write under
// "app/", then turns auth on.
func enableAuth(t *testing.T, c *Client) {
	t.Helper()
	ctx := t.Context()
	auth := etcdserverpb.NewAuthClient(c.Conn())
	steps := []func() error{
		func() error {
			_, err := auth.UserAdd(ctx, &etcdserverpb.AuthUserAddRequest{Name: "root", Password: "rootpw"})
			return err
		},
		func() error { _, err := auth.RoleAdd(ctx, &etcdserverpb.AuthRoleAddRequest{Name: "root"}); return err },
		func() error {
			_, err := auth.UserGrantRole(ctx, &etcdserverpb.AuthUserGrantRoleRequest{User: "root", Role: "root"})
			return err
		},
		func() error {
			_, err := auth.UserAdd(ctx, &etcdserverpb.AuthUserAddRequest{Name: "app", Password: "secret"})
			return err
		},
		func() error { _, err := auth.RoleAdd(ctx, &etcdserverpb.AuthRoleAddRequest{Name: "app"}); return err },
		func() error {
			_, err := auth.RoleGrantPermission(ctx, &etcdserverpb.AuthRoleGrantPermissionRequest{Name: "app", Perm: &authpb.Permission{
				PermType: authpb.Permission_READWRITE, Key: []byte("app/"), RangeEnd: PrefixEnd([]byte("app/")),
			}})
			return err
		},
		func() error {
			_, err := auth.UserGrantRole(ctx, &etcdserverpb.AuthUserGrantRoleRequest{User: "app", Role: "app"})
			return err
		},
		func() error { _, err := auth.AuthEnable(ctx, &etcdserverpb.AuthEnableRequest{}); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("enabling auth, step %d: %v", i, err)
		}
	}
}

// TestTLSAndAuth runs against a member that requires client certificates and auth, with
// tokens that expire after one second, so that the client must refresh them.
func TestTLSAndAuth(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{ClientCertAuth: true, Args: []string{"--auth-token-ttl=1"}})
	enableAuth(t, newClient(t, cl, Config{}))
	ctx := t.Context()

	app := newClient(t, cl, Config{Username: "app", Password: "secret"})
	mustPut(t, app, "app/k", "v")
	if _, err := app.Put(ctx, "other/k", "v"); !errors.Is(err, ErrPermissionDenied) || !strings.Contains(err.Error(), `put "other/k"`) {
		t.Fatalf("put outside the role's keys = %v, want ErrPermissionDenied", err)
	}

	for _, err := range app.Watch(ctx, Prefix("other/")) {
		if !errors.Is(err, ErrPermissionDenied) || !strings.Contains(err.Error(), "other/") {
			t.Fatalf("watch outside the role's keys = %v, want ErrPermissionDenied", err)
		}
		break
	}

	time.Sleep(2500 * time.Millisecond) // the token expires
	kv, err := app.Get(ctx, "app/k")
	if err != nil || string(kv.Value) != "v" {
		t.Fatalf("Get after the token expired = %+v, %v; want a refreshed token", kv, err)
	}
	s, err := app.NewSession(ctx, TTL(5*time.Second))
	if err != nil {
		t.Fatalf("session with auth: %v", err)
	}
	time.Sleep(2500 * time.Millisecond)
	if err := s.Err(); err != nil {
		t.Fatalf("session lost across token expiry: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A watch created after the token expired: its stream re-authenticates.
	time.Sleep(1500 * time.Millisecond)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	go func() {
		time.Sleep(300 * time.Millisecond)
		if _, err := app.Put(wctx, "app/w", "seen"); err != nil {
			t.Errorf("put for the watch: %v", err)
		}
	}()
	for ev, err := range app.Watch(wctx, Key("app/w")) {
		if err != nil || string(ev.KV.Value) != "seen" {
			t.Fatalf("watch after token expiry = %+v, %v", ev, err)
		}
		break
	}

	wrong := newClient(t, cl, Config{Username: "app", Password: "nope"})
	_, err = wrong.Get(ctx, "app/k")
	if !errors.Is(err, ErrAuthFailed) || strings.Contains(err.Error(), "nope") {
		t.Fatalf("wrong password = %v, want ErrAuthFailed without the password", err)
	}

	anon := newClient(t, cl, Config{})
	if _, err := anon.Get(ctx, "app/k"); err == nil {
		t.Fatal("a client without credentials read a key with auth on")
	}
}

func TestTLSRefusesUnknownCA(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{TLS: true})
	ctx := t.Context()

	bad := newClient(t, cl, Config{TLS: etcdtls.New(nil)}) // system roots only
	bctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := bad.Get(bctx, "k"); err == nil {
		t.Fatal("a client that does not trust the server's CA got an answer")
	}
	good := newClient(t, cl, Config{})
	if _, err := good.Put(ctx, "k", "v"); err != nil {
		t.Fatalf("trusted TLS client: %v", err)
	}
	ca, err := etcdtls.Load(cl.TLS.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	fromFiles := newClient(t, cl, Config{TLS: etcdtls.New(ca)})
	if kv, err := fromFiles.Get(ctx, "k"); err != nil || string(kv.Value) != "v" {
		t.Fatalf("client with etcdtls.Load: %+v, %v", kv, err)
	}
}
