package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/etcdkit/etcdkit/etcd"
)

// Users, roles and authentication: user add|delete|get|list|passwd|grant-role|revoke-role,
// role add|delete|get|list|grant-permission|revoke-permission, auth enable|disable|status.

func init() {
	for _, c := range []*command{
		{path: "user add", use: "user add <user name or user:password> [options]", short: "Adds a new user", define: withOptions[userAddOpts], formats: "fields protobuf"},
		{path: "user delete", use: "user delete <user name>", short: "Deletes a user", define: noFlags(runUserDelete), formats: "fields protobuf"},
		{path: "user get", use: "user get <user name> [options]", short: "Gets detailed information of a user", define: withOptions[userGetOpts], formats: "fields protobuf"},
		{path: "user list", use: "user list", short: "Lists all users", define: noFlags(listNames("user", "users", (*etcd.Client).UserList)), formats: "protobuf"},
		{path: "user passwd", use: "user passwd <user name> [options]", short: "Changes password of user", define: withOptions[passwdOpts], formats: "fields protobuf"},
		{path: "user grant-role", use: "user grant-role <user name> <role name>", short: "Grants a role to a user", define: noFlags(runUserGrantRole), formats: "fields protobuf"},
		{path: "user revoke-role", use: "user revoke-role <user name> <role name>", short: "Revokes a role from a user", define: noFlags(runUserRevokeRole), formats: "fields protobuf"},
		{path: "role add", use: "role add <role name>", short: "Adds a new role", define: noFlags(runRoleAdd), formats: "fields protobuf"},
		{path: "role delete", use: "role delete <role name>", short: "Deletes a role", define: noFlags(runRoleDelete), formats: "fields protobuf"},
		{path: "role get", use: "role get <role name>", short: "Gets detailed information of a role", define: noFlags(runRoleGet), formats: "fields protobuf"},
		{path: "role list", use: "role list", short: "Lists all roles", define: noFlags(listNames("role", "roles", (*etcd.Client).RoleList)), formats: "fields protobuf"},
		{path: "role grant-permission", use: "role grant-permission [options] <role name> <permission type> <key> [endkey]",
			short: "Grants a key to a role", define: withOptions[grantPermOpts], formats: "fields protobuf"},
		{path: "role revoke-permission", use: "role revoke-permission <role name> <key> [endkey]",
			short: "Revokes a key from a role", define: withOptions[revokePermOpts], formats: "fields protobuf"},
		{path: "auth enable", use: "auth enable", short: "Enables authentication", define: noFlags(runAuthEnable), formats: textOnly},
		{path: "auth disable", use: "auth disable", short: "Disables authentication", define: noFlags(runAuthDisable), formats: textOnly},
		{path: "auth status", use: "auth status", short: "Returns authentication status", define: noFlags(runAuthStatus), formats: "protobuf"},
	} {
		register(c)
	}
}

// jsonHeaderOnly is the answer of the auth calls that return nothing but a header.
type jsonHeaderOnly struct {
	Header *jsonHeader `json:"header,omitempty"`
}

// printDone prints a change's answer: line in simple format, the header in the others.
func (a *app) printDone(h etcd.Header, line string) error {
	switch a.g.writeOut {
	case "json":
		return printJSON(a.stdout, jsonHeaderOnly{headerJSON(h)})
	case "fields":
		a.printFieldsHeader(h)
	case "protobuf":
		_, err := a.stdout.Write(pbHeader(h))
		return err
	default:
		fmt.Fprintln(a.stdout, line)
	}
	return nil
}

// authCall runs one call of the auth commands and prints its answer with printDone.
func (a *app) authCall(line string, f func(ctx context.Context, c *etcd.Client) (etcd.Header, error)) error {
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		h, err := f(ctx, c)
		if err != nil {
			return err
		}
		return a.printDone(h, line)
	})
}

// userAddOpts are user add's flags.
type userAddOpts struct {
	interactive bool
	newPassword string
	noPassword  bool
}

func (o *userAddOpts) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.interactive, "interactive", true, "Read password from stdin instead of interactive terminal")
	fs.StringVar(&o.newPassword, "new-user-password", "", "Supply password from the command line flag")
	fs.BoolVar(&o.noPassword, "no-password", false, "Create a user without password (CN based auth only)")
}

func (o *userAddOpts) run(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "user add command requires user name as its argument")
	}
	user, password := args[0], o.newPassword
	if !o.noPassword && password == "" {
		name, pw, ok := strings.Cut(args[0], ":")
		switch {
		case ok && name == "":
			return fail(exitBadArgs, "empty user name is not allowed")
		case ok:
			user, password = name, pw
		default:
			var err error
			if password, err = a.newPassword(user, o.interactive); err != nil {
				return err
			}
		}
	}
	return a.authCall(fmt.Sprintf("User %s created", user), func(ctx context.Context, c *etcd.Client) (etcd.Header, error) {
		if o.noPassword {
			return c.UserAddNoPassword(ctx, user)
		}
		return c.UserAdd(ctx, user, password)
	})
}

// newPassword reads the password of user: asked twice on the terminal when interactive,
// else the first word of standard input, as etcdctl reads it.
func (a *app) newPassword(user string, interactive bool) (string, error) {
	if !interactive {
		line, _ := bufio.NewReader(a.stdin).ReadString('\n')
		if words := strings.Fields(line); len(words) > 0 && !strings.HasPrefix(line, "\n") {
			return words[0], nil
		}
		return "", nil
	}
	ask := a.lookupPassword
	if ask == nil {
		ask = askPassword
	}
	first, err := ask(fmt.Sprintf("Password of %s: ", user))
	if err != nil {
		return "", fail(exitBadArgs, "failed to ask password: %v", err)
	}
	if first == "" {
		return "", fail(exitBadArgs, "empty password")
	}
	second, err := ask(fmt.Sprintf("Type password of %s again for confirmation: ", user))
	if err != nil {
		return "", fail(exitBadArgs, "failed to ask password: %v", err)
	}
	if first != second {
		return "", fail(exitBadArgs, "given passwords are different")
	}
	return first, nil
}

func runUserDelete(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "user delete command requires user name as its argument")
	}
	return a.authCall(fmt.Sprintf("User %s deleted", args[0]), func(ctx context.Context, c *etcd.Client) (etcd.Header, error) {
		return c.UserDelete(ctx, args[0])
	})
}

// userGetOpts are user get's flags.
type userGetOpts struct{ detail bool }

func (o *userGetOpts) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.detail, "detail", false, "Show permissions of roles granted to the user")
}

// run (user get) prints the user's roles, or with --detail each role's permissions, in
// role get's format (which, unlike user get's, fields supports).
func (o *userGetOpts) run(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "user get command requires user name as its argument")
	}
	name := args[0]
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		roles, h, err := c.UserGet(ctx, name)
		if err != nil {
			return err
		}
		if o.detail {
			fmt.Fprintf(a.stdout, "User: %s\n", name)
			for _, role := range roles {
				fmt.Fprintln(a.stdout)
				if err := a.printRole(ctx, c, role); err != nil {
					return err
				}
			}
			return nil
		}
		switch a.g.writeOut {
		case "json":
			return printJSON(a.stdout, struct {
				Header *jsonHeader `json:"header,omitempty"`
				Roles  []string    `json:"roles,omitempty"`
			}{headerJSON(h), roles})
		case "fields":
			return unsupportedFormat(a.g.writeOut)
		case "protobuf":
			_, err := a.stdout.Write(pbNames(h, roles))
			return err
		}
		fmt.Fprintf(a.stdout, "User: %s\nRoles:", name)
		for _, r := range roles {
			fmt.Fprintf(a.stdout, " %s", r)
		}
		fmt.Fprintln(a.stdout)
		return nil
	})
}

// passwdOpts are user passwd's flags.
type passwdOpts struct{ interactive bool }

func (o *passwdOpts) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.interactive, "interactive", true, "If true, read password from stdin instead of interactive terminal")
}

func (o *passwdOpts) run(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "user passwd command requires user name as its argument")
	}
	password, err := a.newPassword(args[0], o.interactive)
	if err != nil {
		return err
	}
	return a.authCall("Password updated", func(ctx context.Context, c *etcd.Client) (etcd.Header, error) {
		return c.UserChangePassword(ctx, args[0], password)
	})
}

func runUserGrantRole(a *app, args []string) error {
	if len(args) != 2 {
		return fail(exitBadArgs, "user grant command requires user name and role name as its argument")
	}
	return a.authCall(fmt.Sprintf("Role %s is granted to user %s", args[1], args[0]), func(ctx context.Context, c *etcd.Client) (etcd.Header, error) {
		return c.UserGrantRole(ctx, args[0], args[1])
	})
}

func runUserRevokeRole(a *app, args []string) error {
	if len(args) != 2 {
		return fail(exitBadArgs, "user revoke-role requires user name and role name as its argument")
	}
	return a.authCall(fmt.Sprintf("Role %s is revoked from user %s", args[1], args[0]), func(ctx context.Context, c *etcd.Client) (etcd.Header, error) {
		return c.UserRevokeRole(ctx, args[0], args[1])
	})
}

func runRoleAdd(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "role add command requires role name as its argument")
	}
	return a.authCall(fmt.Sprintf("Role %s created", args[0]), func(ctx context.Context, c *etcd.Client) (etcd.Header, error) {
		return c.RoleAdd(ctx, args[0])
	})
}

func runRoleDelete(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "role delete command requires role name as its argument")
	}
	return a.authCall(fmt.Sprintf("Role %s deleted", args[0]), func(ctx context.Context, c *etcd.Client) (etcd.Header, error) {
		return c.RoleDelete(ctx, args[0])
	})
}

func runRoleGet(a *app, args []string) error {
	if len(args) != 1 {
		return fail(exitBadArgs, "role get command requires role name as its argument")
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error { return a.printRole(ctx, c, args[0]) })
}

// jsonPerm is a permission (authpb.Permission).
type jsonPerm struct {
	PermType int32  `json:"permType,omitempty"`
	Key      []byte `json:"key,omitempty"`
	RangeEnd []byte `json:"range_end,omitempty"`
}

// printRole gets a role and prints its permissions as role get does: in simple format the
// read and then the write permissions, each a key or a range.
func (a *app) printRole(ctx context.Context, c *etcd.Client, role string) error {
	perms, h, err := c.RoleGet(ctx, role)
	if err != nil {
		return err
	}
	switch a.g.writeOut {
	case "json":
		out := struct {
			Header *jsonHeader `json:"header,omitempty"`
			Perm   []jsonPerm  `json:"perm,omitempty"`
		}{Header: headerJSON(h)}
		for _, p := range perms {
			out.Perm = append(out.Perm, jsonPerm{int32(p.Type), []byte(p.Key), []byte(p.RangeEnd)})
		}
		return printJSON(a.stdout, out)
	case "protobuf":
		_, err := a.stdout.Write(pbRole(h, perms))
		return err
	case "fields":
		a.printFieldsHeader(h)
		for _, p := range perms {
			fmt.Fprintln(a.stdout, `"PermType" : `, p.Type)
			fmt.Fprintf(a.stdout, "\"Key\" : %q\n\"RangeEnd\" : %q\n", p.Key, p.RangeEnd)
		}
		return nil
	}
	fmt.Fprintf(a.stdout, "Role %s\n", role)
	if role == "root" && perms == nil {
		fmt.Fprint(a.stdout, "KV Read:\n\t[, <open ended>\nKV Write:\n\t[, <open ended>\n")
		return nil
	}
	section := func(title string, types ...etcd.PermissionType) {
		fmt.Fprintln(a.stdout, title)
		for _, p := range perms {
			if p.Type != types[0] && p.Type != types[1] {
				continue
			}
			switch {
			case p.RangeEnd == "":
				fmt.Fprintf(a.stdout, "\t%s\n", p.Key)
				continue
			case p.RangeEnd == "\x00":
				fmt.Fprintf(a.stdout, "\t[%s, <open ended>", p.Key)
			default:
				fmt.Fprintf(a.stdout, "\t[%s, %s)", p.Key, p.RangeEnd)
			}
			if p.Key != "" && string(etcd.PrefixEnd([]byte(p.Key))) == p.RangeEnd {
				fmt.Fprintf(a.stdout, " (prefix %s)", p.Key)
			}
			fmt.Fprintln(a.stdout)
		}
	}
	section("KV Read:", etcd.PermRead, etcd.PermReadWrite)
	section("KV Write:", etcd.PermWrite, etcd.PermReadWrite)
	return nil
}

// listNames runs user list or role list: the names one a line, in JSON under field, and in
// fields format (which only role list declares) on one line.
func listNames(what, field string, list func(*etcd.Client, context.Context) ([]string, etcd.Header, error)) runFunc {
	return func(a *app, args []string) error {
		if len(args) != 0 {
			return fail(exitBadArgs, "%s list command requires no arguments", what)
		}
		return a.call(func(ctx context.Context, c *etcd.Client) error {
			names, h, err := list(c, ctx)
			if err != nil {
				return err
			}
			switch a.g.writeOut {
			case "json":
				out := map[string]any{"header": headerJSON(h)}
				if len(names) > 0 {
					out[field] = names
				}
				return printJSON(a.stdout, out)
			case "protobuf":
				_, err := a.stdout.Write(pbNames(h, names))
				return err
			case "fields":
				a.printFieldsHeader(h)
				fmt.Fprint(a.stdout, `"Roles" :`)
				for _, n := range names {
					fmt.Fprintf(a.stdout, " %q", n)
				}
				fmt.Fprintln(a.stdout)
				return nil
			}
			for _, n := range names {
				fmt.Fprintln(a.stdout, n)
			}
			return nil
		})
	}
}

// permOpts are the range flags of role grant-permission and revoke-permission.
type permOpts struct{ prefix, fromKey bool }

func (o *permOpts) define(fs *pflag.FlagSet, verb string) {
	fs.BoolVar(&o.prefix, "prefix", false, verb+" a prefix permission")
	fs.BoolVar(&o.fromKey, "from-key", false, verb+" a permission of keys that are greater than or equal to the given key using byte compare")
}

// permRange is the key and range end a permission's arguments (key [endkey]) and flags
// name. An empty key is etcd's "\x00": the whole key space with --prefix or --from-key.
func (o *permOpts) permRange(args []string) (key, end string, err error) {
	key = args[0]
	switch {
	case o.prefix && o.fromKey && (key == "" || len(args) == 1):
		return "", "", fail(exitBadArgs, "--from-key and --prefix flags are mutually exclusive")
	case key == "" && (o.prefix || o.fromKey):
		return "\x00", "\x00", nil
	case key == "":
		return "\x00", "", nil
	case len(args) == 1 && o.prefix:
		return key, string(etcd.PrefixEnd([]byte(key))), nil
	case len(args) == 1 && o.fromKey:
		return key, "\x00", nil
	case len(args) == 1:
		return key, "", nil
	case o.prefix:
		return "", "", fail(exitBadArgs, "unexpected endkey argument with --prefix flag")
	case o.fromKey:
		return "", "", fail(exitBadArgs, "unexpected endkey argument with --from-key flag")
	}
	return key, args[1], nil
}

// grantPermOpts are role grant-permission's flags.
type grantPermOpts struct{ permOpts }

func (o *grantPermOpts) flags(fs *pflag.FlagSet) { o.define(fs, "grant") }

func (o *grantPermOpts) run(a *app, args []string) error {
	if len(args) < 3 {
		return fail(exitBadArgs, "role grant command requires role name, permission type, and key [endkey] as its argument")
	}
	typ, ok := permTypes[strings.ToUpper(args[1])]
	if !ok {
		return fail(exitBadArgs, "invalid permission type: %s", args[1])
	}
	key, end, err := o.permRange(args[2:])
	if err != nil {
		return err
	}
	return a.authCall(fmt.Sprintf("Role %s updated", args[0]), func(ctx context.Context, c *etcd.Client) (etcd.Header, error) {
		return c.RoleGrantPermission(ctx, args[0], etcd.Permission{Type: typ, Key: key, RangeEnd: end})
	})
}

// permTypes are the permission types by etcd's names.
var permTypes = map[string]etcd.PermissionType{"READ": etcd.PermRead, "WRITE": etcd.PermWrite, "READWRITE": etcd.PermReadWrite}

// revokePermOpts are role revoke-permission's flags.
type revokePermOpts struct{ permOpts }

func (o *revokePermOpts) flags(fs *pflag.FlagSet) { o.define(fs, "revoke") }

func (o *revokePermOpts) run(a *app, args []string) error {
	if len(args) < 2 {
		return fail(exitBadArgs, "role revoke-permission command requires role name and key [endkey] as its argument")
	}
	key, end, err := o.permRange(args[1:])
	if err != nil {
		return err
	}
	// etcdctl names the key as given, and the range end it sent.
	line := fmt.Sprintf("Permission of key %s is revoked from role %s", args[1], args[0])
	switch end {
	case "":
	case "\x00":
		line = fmt.Sprintf("Permission of range [%s, <open ended> is revoked from role %s", args[1], args[0])
	default:
		line = fmt.Sprintf("Permission of range [%s, %s) is revoked from role %s", args[1], end, args[0])
	}
	return a.authCall(line, func(ctx context.Context, c *etcd.Client) (etcd.Header, error) {
		return c.RoleRevokePermission(ctx, args[0], etcd.Permission{Key: key, RangeEnd: end})
	})
}

// runAuthEnable enables auth; when the root user lacks the root role it creates the role,
// grants it and tries again, as etcdctl does.
func runAuthEnable(a *app, args []string) error {
	if len(args) != 0 {
		return fail(exitBadArgs, "auth enable command does not accept any arguments")
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		for {
			_, err := c.AuthEnable(ctx)
			if err == nil {
				fmt.Fprintln(a.stdout, "Authentication Enabled")
				return nil
			}
			if !errors.Is(err, etcd.ErrNoRootRole) {
				return err
			}
			if _, err := c.RoleAdd(ctx, "root"); err != nil {
				return err
			}
			if _, err := c.UserGrantRole(ctx, "root", "root"); err != nil {
				return err
			}
		}
	})
}

func runAuthDisable(a *app, args []string) error {
	if len(args) != 0 {
		return fail(exitBadArgs, "auth disable command does not accept any arguments")
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		if _, err := c.AuthDisable(ctx); err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, "Authentication Disabled")
		return nil
	})
}

func runAuthStatus(a *app, args []string) error {
	if len(args) != 0 {
		return fail(exitBadArgs, "auth status command does not accept any arguments")
	}
	return a.call(func(ctx context.Context, c *etcd.Client) error {
		st, err := c.AuthStatus(ctx)
		if err != nil {
			return err
		}
		switch a.g.writeOut {
		case "protobuf":
			_, err := a.stdout.Write(pbAuthStatus(st))
			return err
		case "json":
			return printJSON(a.stdout, struct {
				Header       *jsonHeader `json:"header,omitempty"`
				Enabled      bool        `json:"enabled,omitempty"`
				AuthRevision uint64      `json:"authRevision,omitempty"`
			}{headerJSON(st.Header), st.Enabled, st.Revision})
		}
		fmt.Fprintf(a.stdout, "Authentication Status: %t\nAuthRevision: %d\n", st.Enabled, st.Revision)
		return nil
	})
}
