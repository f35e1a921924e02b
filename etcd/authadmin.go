//etcdkit:needs Auth.AuthEnable,Auth.AuthDisable,Auth.UserAdd,Auth.UserGet,Auth.UserList,Auth.UserDelete,Auth.UserChangePassword,Auth.UserGrantRole,Auth.UserRevokeRole,Auth.RoleAdd,Auth.RoleGet,Auth.RoleList,Auth.RoleDelete,Auth.RoleGrantPermission,Auth.RoleRevokePermission

package etcd

import (
	"context"

	"github.com/etcdkit/etcdkit/gen/authpb"
	"github.com/etcdkit/etcdkit/gen/etcdserverpb"
)

// Managing users, roles and authentication. Once auth is enabled every call needs a user
// (Config.Username) with the permissions it uses, and these calls need the root role. Keys
// in permissions are the server's keys: the client's Namespace is not applied to them.

// PermissionType is what a permission allows on its keys.
type PermissionType int32

// Permission types, as etcd numbers them.
const (
	PermRead      PermissionType = PermissionType(authpb.Permission_READ)
	PermWrite     PermissionType = PermissionType(authpb.Permission_WRITE)
	PermReadWrite PermissionType = PermissionType(authpb.Permission_READWRITE)
)

// String returns etcd's name of the type: "READ", "WRITE" or "READWRITE".
func (t PermissionType) String() string { return authpb.Permission_Type(t).String() }

// Permission lets a role read or write a key (RangeEnd empty) or the range [Key, RangeEnd);
// RangeEnd "\x00" means every key from Key on, and PrefixEnd gives a prefix's end.
type Permission struct {
	Type     PermissionType // read, write or both
	Key      string         // the key, or the range's start (raw: Config.Namespace does not apply)
	RangeEnd string         // the range's end (exclusive); empty for the single key Key
}

// AuthEnable turns authentication on. The root user must exist and have the root role.
func (c *Client) AuthEnable(ctx context.Context) (Header, error) {
	return c.authCall(ctx, "auth enable", "", func(ac etcdserverpb.AuthClient) (headed, error) {
		return ac.AuthEnable(ctx, &etcdserverpb.AuthEnableRequest{})
	})
}

// AuthDisable turns authentication off.
func (c *Client) AuthDisable(ctx context.Context) (Header, error) {
	return c.authCall(ctx, "auth disable", "", func(ac etcdserverpb.AuthClient) (headed, error) {
		return ac.AuthDisable(ctx, &etcdserverpb.AuthDisableRequest{})
	})
}

// UserAdd creates a user who logs in with password.
func (c *Client) UserAdd(ctx context.Context, name, password string) (Header, error) {
	return c.authCall(ctx, "user add", name, func(ac etcdserverpb.AuthClient) (headed, error) {
		return ac.UserAdd(ctx, &etcdserverpb.AuthUserAddRequest{Name: name, Password: password})
	})
}

// UserAddNoPassword creates a user without a password, who cannot log in with one (only
// with a client certificate naming it).
func (c *Client) UserAddNoPassword(ctx context.Context, name string) (Header, error) {
	return c.authCall(ctx, "user add", name, func(ac etcdserverpb.AuthClient) (headed, error) {
		return ac.UserAdd(ctx, &etcdserverpb.AuthUserAddRequest{Name: name, Options: &authpb.UserAddOptions{NoPassword: true}})
	})
}

// UserGet returns the roles granted to a user.
func (c *Client) UserGet(ctx context.Context, name string) ([]string, Header, error) {
	var roles []string
	h, err := c.authCall(ctx, "user get", name, func(ac etcdserverpb.AuthClient) (headed, error) {
		resp, err := ac.UserGet(ctx, &etcdserverpb.AuthUserGetRequest{Name: name})
		roles = resp.GetRoles()
		return resp, err
	})
	return roles, h, err
}

// UserList lists the users, sorted by name.
func (c *Client) UserList(ctx context.Context) ([]string, Header, error) {
	var users []string
	h, err := c.authCall(ctx, "user list", "", func(ac etcdserverpb.AuthClient) (headed, error) {
		resp, err := ac.UserList(ctx, &etcdserverpb.AuthUserListRequest{})
		users = resp.GetUsers()
		return resp, err
	})
	return users, h, err
}

// UserDelete deletes a user.
func (c *Client) UserDelete(ctx context.Context, name string) (Header, error) {
	return c.authCall(ctx, "user delete", name, func(ac etcdserverpb.AuthClient) (headed, error) {
		return ac.UserDelete(ctx, &etcdserverpb.AuthUserDeleteRequest{Name: name})
	})
}

// UserChangePassword sets a user's password.
func (c *Client) UserChangePassword(ctx context.Context, name, password string) (Header, error) {
	return c.authCall(ctx, "user passwd", name, func(ac etcdserverpb.AuthClient) (headed, error) {
		return ac.UserChangePassword(ctx, &etcdserverpb.AuthUserChangePasswordRequest{Name: name, Password: password})
	})
}

// UserGrantRole grants a role to a user.
func (c *Client) UserGrantRole(ctx context.Context, user, role string) (Header, error) {
	return c.authCall(ctx, "user grant-role", user, func(ac etcdserverpb.AuthClient) (headed, error) {
		return ac.UserGrantRole(ctx, &etcdserverpb.AuthUserGrantRoleRequest{User: user, Role: role})
	})
}

// UserRevokeRole takes a role back from a user.
func (c *Client) UserRevokeRole(ctx context.Context, user, role string) (Header, error) {
	return c.authCall(ctx, "user revoke-role", user, func(ac etcdserverpb.AuthClient) (headed, error) {
		return ac.UserRevokeRole(ctx, &etcdserverpb.AuthUserRevokeRoleRequest{Name: user, Role: role})
	})
}

// RoleAdd creates a role without permissions.
func (c *Client) RoleAdd(ctx context.Context, name string) (Header, error) {
	return c.authCall(ctx, "role add", name, func(ac etcdserverpb.AuthClient) (headed, error) {
		return ac.RoleAdd(ctx, &etcdserverpb.AuthRoleAddRequest{Name: name})
	})
}

// RoleGet returns a role's permissions.
func (c *Client) RoleGet(ctx context.Context, name string) ([]Permission, Header, error) {
	var perms []Permission
	h, err := c.authCall(ctx, "role get", name, func(ac etcdserverpb.AuthClient) (headed, error) {
		resp, err := ac.RoleGet(ctx, &etcdserverpb.AuthRoleGetRequest{Role: name})
		for _, p := range resp.GetPerm() {
			perms = append(perms, Permission{Type: PermissionType(p.GetPermType()), Key: string(p.GetKey()), RangeEnd: string(p.GetRangeEnd())})
		}
		return resp, err
	})
	return perms, h, err
}

// RoleList lists the roles, sorted by name.
func (c *Client) RoleList(ctx context.Context) ([]string, Header, error) {
	var roles []string
	h, err := c.authCall(ctx, "role list", "", func(ac etcdserverpb.AuthClient) (headed, error) {
		resp, err := ac.RoleList(ctx, &etcdserverpb.AuthRoleListRequest{})
		roles = resp.GetRoles()
		return resp, err
	})
	return roles, h, err
}

// RoleDelete deletes a role; users who had it lose it.
func (c *Client) RoleDelete(ctx context.Context, name string) (Header, error) {
	return c.authCall(ctx, "role delete", name, func(ac etcdserverpb.AuthClient) (headed, error) {
		return ac.RoleDelete(ctx, &etcdserverpb.AuthRoleDeleteRequest{Role: name})
	})
}

// RoleGrantPermission adds a permission to a role.
func (c *Client) RoleGrantPermission(ctx context.Context, role string, p Permission) (Header, error) {
	return c.authCall(ctx, "role grant-permission", role, func(ac etcdserverpb.AuthClient) (headed, error) {
		perm := &authpb.Permission{PermType: authpb.Permission_Type(p.Type), Key: []byte(p.Key), RangeEnd: []byte(p.RangeEnd)}
		return ac.RoleGrantPermission(ctx, &etcdserverpb.AuthRoleGrantPermissionRequest{Name: role, Perm: perm})
	})
}

// RoleRevokePermission removes from a role the permission on p.Key (p.RangeEnd empty) or on
// the range [p.Key, p.RangeEnd), whatever its type (p.Type is not sent): it takes the
// Permission that RoleGet returned or RoleGrantPermission was given.
func (c *Client) RoleRevokePermission(ctx context.Context, role string, p Permission) (Header, error) {
	return c.authCall(ctx, "role revoke-permission", role, func(ac etcdserverpb.AuthClient) (headed, error) {
		return ac.RoleRevokePermission(ctx, &etcdserverpb.AuthRoleRevokePermissionRequest{Role: role, Key: []byte(p.Key), RangeEnd: []byte(p.RangeEnd)})
	})
}

// headed is a response with a header.
type headed interface {
	GetHeader() *etcdserverpb.ResponseHeader
}

// authCall makes one call of the Auth service for op on name and returns the response header.
func (c *Client) authCall(ctx context.Context, op, name string, call func(etcdserverpb.AuthClient) (headed, error)) (Header, error) {
	if err := c.check(op, name); err != nil {
		return Header{}, err
	}
	resp, err := call(etcdserverpb.NewAuthClient(c.conn))
	if err != nil {
		return Header{}, opError(op, name, err)
	}
	return header(resp.GetHeader()), nil
}
