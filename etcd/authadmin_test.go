//etcdkit:needs Auth

package etcd

import (
	"errors"
	"slices"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// TestAuthAdmin manages users and roles through the package alone: root and a user limited
// to a prefix, auth turned on, the limits enforced, then everything taken back.
func TestAuthAdmin(t *testing.T) {
	cl := etcdtest.StartCluster(t, etcdtest.Options{})
	admin := newClient(t, cl, Config{})
	ctx := t.Context()
	must := func(what string, _ Header, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if _, err := admin.AuthEnable(ctx); !errors.Is(err, ErrNoRootUser) {
		t.Fatalf("AuthEnable without a root user = %v, want ErrNoRootUser", err)
	}
	h, err := admin.UserAdd(ctx, "root", "rootpw")
	must("UserAdd root", h, err)
	if _, err := admin.AuthEnable(ctx); !errors.Is(err, ErrNoRootRole) {
		t.Fatalf("AuthEnable while root lacks the root role = %v, want ErrNoRootRole", err)
	}
	h, err = admin.RoleAdd(ctx, "root")
	must("RoleAdd root", h, err)
	h, err = admin.UserGrantRole(ctx, "root", "root")
	must("UserGrantRole root", h, err)
	h, err = admin.UserAdd(ctx, "app", "apppw")
	must("UserAdd app", h, err)
	h, err = admin.UserAddNoPassword(ctx, "certonly")
	must("UserAddNoPassword", h, err)
	h, err = admin.RoleAdd(ctx, "app")
	must("RoleAdd app", h, err)
	perm := Permission{Type: PermReadWrite, Key: "app/", RangeEnd: string(PrefixEnd([]byte("app/")))}
	h, err = admin.RoleGrantPermission(ctx, "app", perm)
	must("RoleGrantPermission", h, err)
	h, err = admin.RoleGrantPermission(ctx, "app", Permission{Type: PermRead, Key: "shared"})
	must("RoleGrantPermission", h, err)
	h, err = admin.UserGrantRole(ctx, "app", "app")
	must("UserGrantRole app", h, err)
	if _, err := admin.UserAdd(ctx, "app", "again"); !errors.Is(err, ErrUserExists) {
		t.Fatalf("adding a user twice = %v, want ErrUserExists", err)
	}
	if _, err := admin.RoleAdd(ctx, "app"); !errors.Is(err, ErrRoleExists) {
		t.Fatalf("adding a role twice = %v, want ErrRoleExists", err)
	}
	if _, _, err := admin.UserGet(ctx, "nobody"); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("UserGet of a missing user = %v, want ErrUserNotFound", err)
	}
	if _, _, err := admin.RoleGet(ctx, "nobody"); !errors.Is(err, ErrRoleNotFound) {
		t.Fatalf("RoleGet of a missing role = %v, want ErrRoleNotFound", err)
	}
	if _, err := admin.UserRevokeRole(ctx, "certonly", "app"); !errors.Is(err, ErrNotGranted) {
		t.Fatalf("revoking a role never granted = %v, want ErrNotGranted", err)
	}

	if users, _, err := admin.UserList(ctx); err != nil || !slices.Equal(users, []string{"app", "certonly", "root"}) {
		t.Fatalf("UserList = %v, %v", users, err)
	}
	if roles, _, err := admin.RoleList(ctx); err != nil || !slices.Equal(roles, []string{"app", "root"}) {
		t.Fatalf("RoleList = %v, %v", roles, err)
	}
	if roles, _, err := admin.UserGet(ctx, "app"); err != nil || !slices.Equal(roles, []string{"app"}) {
		t.Fatalf("UserGet = %v, %v", roles, err)
	}
	perms, _, err := admin.RoleGet(ctx, "app")
	if err != nil || !slices.Equal(perms, []Permission{perm, {Type: PermRead, Key: "shared"}}) {
		t.Fatalf("RoleGet = %+v, %v", perms, err)
	}
	if PermReadWrite.String() != "READWRITE" {
		t.Errorf("PermReadWrite.String() = %q", PermReadWrite.String())
	}

	// authStatus checks AuthStatus, which 3.4 servers do not implement.
	authStatus := func(c *Client, enabled bool) {
		t.Helper()
		st, err := c.AuthStatus(ctx)
		if !versionAtLeast(cl.Version, 3, 5, 0) {
			if !errors.Is(err, ErrNotSupported) {
				t.Fatalf("AuthStatus on %s = %+v, %v; want ErrNotSupported", cl.Version, st, err)
			}
			return
		}
		if err != nil || st.Enabled != enabled || enabled && st.Revision == 0 {
			t.Fatalf("AuthStatus = %+v, %v; want enabled %v", st, err, enabled)
		}
	}
	authStatus(admin, false)
	h, err = admin.AuthEnable(ctx)
	must("AuthEnable", h, err)
	// admin has no user now: every call is refused.
	if _, _, err := admin.UserList(ctx); err == nil {
		t.Fatal("UserList without a user succeeded with auth on")
	}
	root := newClient(t, cl, Config{Username: "root", Password: "rootpw"})
	app := newClient(t, cl, Config{Username: "app", Password: "apppw"})
	authStatus(root, true)
	mustPut(t, app, "app/k", "v")
	if _, err := app.Put(ctx, "shared", "v"); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("app writing a key it may only read = %v, want ErrPermissionDenied", err)
	}
	if _, _, err := app.UserList(ctx); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("app listing users = %v, want ErrPermissionDenied", err)
	}

	h, err = root.RoleRevokePermission(ctx, "app", Permission{Key: "app/", RangeEnd: perm.RangeEnd})
	must("RoleRevokePermission", h, err)
	if _, err := app.Put(ctx, "app/k", "v"); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("Put after the permission was revoked = %v, want ErrPermissionDenied", err)
	}
	h, err = root.UserChangePassword(ctx, "app", "newpw")
	must("UserChangePassword", h, err)
	renamed := newClient(t, cl, Config{Username: "app", Password: "newpw"})
	if _, err := renamed.Get(ctx, "shared"); err != nil && !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("Get with the new password: %v", err)
	}
	h, err = root.UserRevokeRole(ctx, "app", "app")
	must("UserRevokeRole", h, err)
	h, err = root.UserDelete(ctx, "app")
	must("UserDelete", h, err)
	h, err = root.RoleDelete(ctx, "app")
	must("RoleDelete", h, err)
	h, err = root.AuthDisable(ctx)
	must("AuthDisable", h, err)
	authStatus(admin, false)
}
