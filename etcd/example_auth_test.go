//etcdkit:needs Auth

package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/etcdkit/etcdkit/etcd"
)

// Users, roles and permissions; then auth on, checked, and off again.
func ExampleClient_AuthEnable() {
	c := connect()
	defer c.Close()
	ctx := context.Background()

	// authEnabled asks AuthStatus; etcd 3.4 lacks it (ErrNotSupported), and then a refused
	// anonymous write, as seen by the caller, is the evidence.
	authEnabled := func(ctx context.Context, c *etcd.Client, refused bool) bool {
		st, err := c.AuthStatus(ctx)
		if errors.Is(err, etcd.ErrNotSupported) {
			return refused
		}
		if err != nil {
			log.Fatal(err)
		}
		return st.Enabled
	}
	must := func(_ etcd.Header, err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	must(c.UserAdd(ctx, "root", "rootpw"))
	must(c.RoleAdd(ctx, "root"))
	must(c.UserGrantRole(ctx, "root", "root"))
	must(c.UserAddNoPassword(ctx, "svc"))
	must(c.UserAdd(ctx, "app", "old"))
	must(c.UserChangePassword(ctx, "app", "new"))
	must(c.RoleAdd(ctx, "reader"))
	perm := etcd.Permission{Type: etcd.PermRead, Key: "app/", RangeEnd: "app0"}
	must(c.RoleGrantPermission(ctx, "reader", perm))
	must(c.UserGrantRole(ctx, "app", "reader"))

	roles, _, err := c.UserGet(ctx, "app")
	if err != nil {
		log.Fatal(err)
	}
	perms, _, err := c.RoleGet(ctx, "reader")
	if err != nil {
		log.Fatal(err)
	}
	users, _, err := c.UserList(ctx)
	if err != nil {
		log.Fatal(err)
	}
	allRoles, _, err := c.RoleList(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("app has", roles, "reader allows", perms[0].Type, perms[0].Key, perms[0].RangeEnd, "users", users, "roles", allRoles)

	must(c.AuthEnable(ctx))
	root, err := etcd.New(etcd.Config{Endpoints: endpoints(), Username: "root", Password: "rootpw"})
	if err != nil {
		log.Fatal(err)
	}
	defer root.Close()
	_, err = c.Put(ctx, "app/x", "1")
	refused := errors.Is(err, etcd.ErrPermissionDenied)
	fmt.Println("anonymous put refused:", refused)
	fmt.Println("auth enabled:", authEnabled(ctx, root, refused))

	must(root.RoleRevokePermission(ctx, "reader", perm))
	must(root.UserRevokeRole(ctx, "app", "reader"))
	must(root.AuthDisable(ctx))
	for _, u := range []string{"app", "svc", "root"} {
		must(c.UserDelete(ctx, u))
	}
	for _, r := range []string{"reader", "root"} {
		must(c.RoleDelete(ctx, r))
	}
	_, err = c.Put(ctx, "app/x", "1")
	fmt.Println("auth enabled:", authEnabled(ctx, c, err != nil))
	// Output:
	// app has [reader] reader allows READ app/ app0 users [app root svc] roles [reader root]
	// anonymous put refused: true
	// auth enabled: true
	// auth enabled: false
}
