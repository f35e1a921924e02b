package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// changeCase is a command that changes users, roles or auth: etcdctl runs it after setup,
// then undo restores the state, and etcdkit runs it after the same setup. The setup and undo
// steps run with etcdctl.
type changeCase struct {
	name        string
	setup, undo [][]string
	stdin       string
	args        []string
}

func (p *pair) compareChange(tc changeCase) {
	p.t.Run(tc.name, func(t *testing.T) {
		runOn := func(bin string) result {
			for _, s := range tc.setup {
				p.must(s...)
			}
			r := p.run(bin, tc.stdin, tc.args...)
			for _, s := range tc.undo {
				p.must(s...)
			}
			return r
		}
		ctl, kit := runOn(p.ctl), runOn(kitBin)
		sameOutput(t, ctl, kit, isJSON(tc.args), nil)
	})
}

// TestCompareAuthAdmin compares user, role and auth commands on a cluster of its own:
// users and roles listed and shown in every format, each change made by both programs from
// the same state, permissions on keys, ranges, prefixes and open ends, auth enabled with
// the root role created on the way, and the commands refused to a user without the root role.
func TestCompareAuthAdmin(t *testing.T) {
	p := newPair(t, etcdtest.Options{Args: jwtArgs(t)})
	for _, step := range [][]string{
		{"user", "add", "root:" + rootPassword},
		{"user", "add", "app:" + appPassword},
		{"user", "add", "ops:" + appPassword},
		{"role", "add", "app"},
		{"role", "add", "ops"},
		{"role", "add", "empty"},
		{"role", "grant-permission", "app", "readwrite", "app/", "--prefix"},
		{"role", "grant-permission", "app", "read", "cfg"},
		{"role", "grant-permission", "app", "write", "logs/a", "logs/m"},
		{"role", "grant-permission", "app", "read", "z", "--from-key"},
		{"role", "grant-permission", "ops", "write", "", "--prefix"},
		{"role", "grant-permission", "ops", "read", "\xff\xff", "--prefix"},
		{"user", "grant-role", "app", "app"},
		{"user", "grant-role", "ops", "app"},
		{"user", "grant-role", "ops", "ops"},
	} {
		p.must(step...)
	}

	for _, tc := range []readCase{
		{name: "user list", args: []string{"user", "list"}},
		{name: "user list json", args: []string{"user", "list", "-w", "json"}},
		{name: "user list fields", fails: 4, errWant: "fields not supported as output format", args: []string{"user", "list", "-w", "fields"}},
		{name: "user list table", fails: 4, errWant: "table not supported as output format", args: []string{"user", "list", "-w", "table"}},
		{name: "user list args", fails: 128, errWant: "user list command requires no arguments", args: []string{"user", "list", "x"}},
		{name: "user get", args: []string{"user", "get", "ops"}},
		{name: "user get no roles", args: []string{"user", "get", "root"}},
		{name: "user get json", args: []string{"user", "get", "ops", "-w", "json"}},
		{name: "user get fields", fails: 4, errWant: "fields not supported as output format", args: []string{"user", "get", "ops", "-w", "fields"}},
		{name: "user get detail", args: []string{"user", "get", "ops", "--detail"}},
		// Mixed text and JSON: compared byte for byte.
		{name: "user get detail json", args: []string{"user", "get", "ops", "--detail", "-wjson"}},
		{name: "user get detail fields", args: []string{"user", "get", "ops", "--detail", "-w", "fields"}},
		{name: "user get detail hex", args: []string{"user", "get", "ops", "--detail", "-w", "fields", "--hex"}},
		{name: "user get unknown", fails: 1, errWant: "etcdserver: user name not found", args: []string{"user", "get", "nobody"}},
		{name: "user get no args", fails: 128, errWant: "user get command requires user name as its argument", args: []string{"user", "get"}},
		{name: "role list", args: []string{"role", "list"}},
		{name: "role list json", args: []string{"role", "list", "-w", "json"}},
		{name: "role list fields", args: []string{"role", "list", "-w", "fields"}},
		{name: "role get", args: []string{"role", "get", "app"}},
		{name: "role get all keys", args: []string{"role", "get", "ops"}},
		{name: "role get empty", args: []string{"role", "get", "empty"}},
		{name: "role get json", args: []string{"role", "get", "app", "-w", "json"}},
		{name: "role get fields", args: []string{"role", "get", "ops", "-w", "fields"}},
		{name: "role get table", fails: 4, errWant: "table not supported as output format", args: []string{"role", "get", "ops", "-w", "table"}},
		{name: "role get unknown", fails: 1, errWant: "etcdserver: role name not found", args: []string{"role", "get", "nobody"}},
		{name: "role get two args", fails: 128, errWant: "role get command requires role name as its argument", args: []string{"role", "get", "a", "b"}},
		{name: "auth status", args: []string{"auth", "status"}},
		{name: "auth status json", args: []string{"auth", "status", "-w", "json"}},
		{name: "auth status args", fails: 128, errWant: "auth status command does not accept any arguments", args: []string{"auth", "status", "x"}},
		{name: "user list protobuf", args: []string{"user", "list", "-w", "protobuf"}},
		{name: "user get protobuf", args: []string{"user", "get", "ops", "-w", "protobuf"}},
		{name: "user get detail protobuf", args: []string{"user", "get", "ops", "--detail", "-w", "protobuf"}},
		{name: "role list protobuf", args: []string{"role", "list", "-w", "protobuf"}},
		{name: "role get protobuf", args: []string{"role", "get", "app", "-w", "protobuf"}},
		{name: "role get all keys protobuf", args: []string{"role", "get", "ops", "-w", "protobuf"}},
		{name: "auth status protobuf", args: []string{"auth", "status", "-w", "protobuf"}},
	} {
		p.compareRead(tc)
	}

	delNew := [][]string{{"user", "delete", "new"}}
	revoke := func(key string, more ...string) [][]string {
		return [][]string{append([]string{"role", "revoke-permission", "empty", key}, more...)}
	}
	for _, tc := range []changeCase{
		{name: "user add", args: []string{"user", "add", "new:" + appPassword}, undo: delNew},
		{name: "user add json", args: []string{"user", "add", "new:" + appPassword, "-w", "json"}, undo: delNew},
		{name: "user add fields", args: []string{"user", "add", "new:" + appPassword, "-w", "fields"}, undo: delNew},
		{name: "user add protobuf", args: []string{"user", "add", "new:" + appPassword, "-w", "protobuf"}, undo: delNew},
		{name: "user add flag", args: []string{"user", "add", "new", "--new-user-password", appPassword}, undo: delNew},
		{name: "user add stdin", args: []string{"user", "add", "new", "--interactive=false"}, stdin: appPassword + " rest\n", undo: delNew},
		{name: "user add no password", args: []string{"user", "add", "new", "--no-password"}, undo: delNew},
		{name: "user add exists", args: []string{"user", "add", "app:x"}},
		{name: "user add empty name", args: []string{"user", "add", ":x"}},
		{name: "user add two args", args: []string{"user", "add", "a", "b"}},
		{name: "user delete", setup: [][]string{{"user", "add", "new:x"}}, args: []string{"user", "delete", "new"}},
		{name: "user delete unknown", args: []string{"user", "delete", "nobody"}},
		{name: "user passwd", args: []string{"user", "passwd", "app", "--interactive=false"}, stdin: appPassword + "\n"},
		{name: "user passwd json", args: []string{"user", "passwd", "app", "--interactive=false", "-w", "json"}, stdin: appPassword + "\n"},
		{name: "user passwd unknown", args: []string{"user", "passwd", "nobody", "--interactive=false"}, stdin: "x\n"},
		{name: "user grant-role", args: []string{"user", "grant-role", "app", "empty"}, undo: [][]string{{"user", "revoke-role", "app", "empty"}}},
		{name: "user grant-role unknown", args: []string{"user", "grant-role", "app", "nosuch"}},
		{name: "user grant-role one arg", args: []string{"user", "grant-role", "app"}},
		{name: "user revoke-role", args: []string{"user", "revoke-role", "ops", "ops"}, undo: [][]string{{"user", "grant-role", "ops", "ops"}}},
		{name: "user revoke-role not granted", args: []string{"user", "revoke-role", "app", "ops"}},
		{name: "user revoke-role one arg", args: []string{"user", "revoke-role", "app"}},
		{name: "role add", args: []string{"role", "add", "new"}, undo: [][]string{{"role", "delete", "new"}}},
		{name: "role add fields", args: []string{"role", "add", "new", "-w", "fields", "--hex"}, undo: [][]string{{"role", "delete", "new"}}},
		{name: "role add exists", args: []string{"role", "add", "app"}},
		{name: "role delete", setup: [][]string{{"role", "add", "new"}}, args: []string{"role", "delete", "new"}},
		{name: "role delete unknown", args: []string{"role", "delete", "nobody"}},
		{name: "grant key", args: []string{"role", "grant-permission", "empty", "read", "k"}, undo: revoke("k")},
		{name: "grant range", args: []string{"role", "grant-permission", "empty", "Write", "a", "b"}, undo: revoke("a", "b")},
		{name: "grant prefix json", args: []string{"role", "grant-permission", "empty", "readwrite", "p/", "--prefix", "-w", "json"}, undo: revoke("p/", "--prefix")},
		{name: "grant from-key", args: []string{"role", "grant-permission", "empty", "read", "f", "--from-key"}, undo: revoke("f", "--from-key")},
		{name: "grant everything", args: []string{"role", "grant-permission", "empty", "read", "", "--from-key"}, undo: revoke("", "--prefix")},
		{name: "grant empty key", args: []string{"role", "grant-permission", "empty", "read", ""}, undo: revoke("")},
		{name: "grant bad type", args: []string{"role", "grant-permission", "empty", "execute", "k"}},
		{name: "grant too few", args: []string{"role", "grant-permission", "empty", "read"}},
		{name: "grant both flags", args: []string{"role", "grant-permission", "empty", "read", "k", "--prefix", "--from-key"}},
		{name: "grant both flags empty key", args: []string{"role", "grant-permission", "empty", "read", "", "--prefix", "--from-key"}},
		{name: "grant endkey with prefix", args: []string{"role", "grant-permission", "empty", "read", "a", "b", "--prefix"}},
		{name: "grant endkey with from-key", args: []string{"role", "grant-permission", "empty", "read", "a", "b", "--from-key"}},
		{name: "grant unknown role", args: []string{"role", "grant-permission", "nobody", "read", "k"}},
		{name: "revoke key", setup: [][]string{{"role", "grant-permission", "empty", "read", "k"}}, args: []string{"role", "revoke-permission", "empty", "k"}},
		{name: "revoke range", setup: [][]string{{"role", "grant-permission", "empty", "read", "a", "b"}}, args: []string{"role", "revoke-permission", "empty", "a", "b"}},
		{name: "revoke prefix", setup: [][]string{{"role", "grant-permission", "empty", "read", "p/", "--prefix"}}, args: []string{"role", "revoke-permission", "empty", "p/", "--prefix"}},
		{name: "revoke from-key", setup: [][]string{{"role", "grant-permission", "empty", "read", "f", "--from-key"}}, args: []string{"role", "revoke-permission", "empty", "f", "--from-key", "-w", "json"}},
		{name: "revoke everything", setup: [][]string{{"role", "grant-permission", "empty", "read", "", "--prefix"}}, args: []string{"role", "revoke-permission", "empty", "", "--from-key"}},
		{name: "revoke not granted", args: []string{"role", "revoke-permission", "empty", "k"}},
		{name: "revoke too few", args: []string{"role", "revoke-permission", "empty"}},
		{name: "revoke both flags", args: []string{"role", "revoke-permission", "empty", "k", "--prefix", "--from-key"}},
		{name: "auth disable while disabled", args: []string{"auth", "disable"}},
		{name: "auth enable args", args: []string{"auth", "enable", "x"}},
	} {
		p.compareChange(tc)
	}

	// root lacks the root role: auth enable creates it and grants it first.
	asRoot := []string{"--user", "root:" + rootPassword}
	rootUndo := [][]string{
		append(slices.Clone(asRoot), "auth", "disable"),
		{"user", "revoke-role", "root", "root"},
		{"role", "delete", "root"},
	}
	p.compareChange(changeCase{name: "auth enable without root role", args: []string{"auth", "enable"}, undo: rootUndo})
	p.compareChange(changeCase{name: "auth enable table", args: []string{"auth", "enable", "-w", "table"}, undo: rootUndo})
	p.compareChange(changeCase{name: "auth enable without root user",
		setup: [][]string{{"user", "delete", "root"}}, args: []string{"auth", "enable"},
		undo: [][]string{{"user", "add", "root:" + rootPassword}}})

	p.must("auth", "enable")
	enabledUndo := [][]string{append(slices.Clone(asRoot), "auth", "enable")}
	with := func(user string, args ...string) []string { return append([]string{"--user", user}, args...) }
	for _, tc := range []readCase{
		{name: "enabled status", args: with("app:"+appPassword, "auth", "status")},
		{name: "enabled status json", args: with("app:"+appPassword, "auth", "status", "-w", "json")},
		{name: "root lists users", args: with("root:"+rootPassword, "user", "list")},
		{name: "root gets root role", args: with("root:"+rootPassword, "role", "get", "root")},
		{name: "app lists users", fails: 1, errWant: "etcdserver: permission denied", args: with("app:"+appPassword, "user", "list")},
		{name: "app gets a role", args: with("app:"+appPassword, "role", "get", "app")},
		{name: "no user", fails: 1, errWant: "etcdserver: user name is empty", args: []string{"role", "list"}},
	} {
		p.compareRead(tc)
	}
	for _, tc := range []changeCase{
		{name: "app adds a user", args: with("app:"+appPassword, "user", "add", "new:x")},
		{name: "app disables auth", args: with("app:"+appPassword, "auth", "disable")},
		{name: "root disables auth", args: with("root:"+rootPassword, "auth", "disable"), undo: enabledUndo},
		{name: "root enables auth again", args: with("root:"+rootPassword, "auth", "enable")},
	} {
		p.compareChange(tc)
	}

	// A JWT token from the server, given as --auth-jwt-token: it wins over --user.
	appToken := authenticate(t, p.cl.Endpoints()[0], "app", appPassword)
	jwt := func(token string, args ...string) []string {
		return append([]string{"--auth-jwt-token", token}, args...)
	}
	for _, tc := range []readCase{
		{name: "jwt role get", args: jwt(appToken, "role", "get", "app")},
		{name: "jwt user list denied", fails: 1, errWant: "etcdserver: permission denied", args: jwt(appToken, "user", "list")},
		{name: "jwt get", args: jwt(appToken, "get", "app/", "--prefix", "-w", "json")},
		{name: "jwt wins over user", fails: 1, errWant: "etcdserver: permission denied", args: jwt(appToken, "--user", "root:"+rootPassword, "user", "list")},
		{name: "jwt invalid", fails: 1, errWant: "etcdserver: invalid auth token", args: jwt("not-a-token", "auth", "status")},
	} {
		p.compareRead(tc)
	}
	t.Run("jwt used, never printed", func(t *testing.T) {
		if r := p.kitRun("", jwt(appToken, "role", "get", "app")...); r.code != 0 {
			t.Errorf("with app's token: exit %d: %s", r.code, r.stderr)
		}
		r := p.kitRun("", jwt(appToken, "user", "list")...)
		if strings.Contains(r.stdout+r.stderr, appToken) {
			t.Errorf("etcdkit printed the token:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
	})
}

// jwtArgs writes an ECDSA key pair and returns the etcd flags that make the server issue
// JWT tokens signed with it.
func jwtArgs(t *testing.T) []string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	privFile, pubFile := filepath.Join(dir, "jwt.key"), filepath.Join(dir, "jwt.pub")
	for file, block := range map[string]*pem.Block{privFile: {Type: "EC PRIVATE KEY", Bytes: priv}, pubFile: {Type: "PUBLIC KEY", Bytes: pub}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"--auth-token=jwt,pub-key=" + pubFile + ",priv-key=" + privFile + ",sign-method=ES256,ttl=10m"}
}

// authenticate logs user in at endpoint and returns the server's token (AuthenticateRequest:
// name = 1, password = 2; AuthenticateResponse: token = 2).
func authenticate(t *testing.T, endpoint, user, password string) string {
	t.Helper()
	req := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), user)
	req = protowire.AppendString(protowire.AppendTag(req, 2, protowire.BytesType), password)
	resp := rawCall(t, endpoint, "/etcdserverpb.Auth/Authenticate", req)
	for len(resp) > 0 {
		num, typ, n := protowire.ConsumeTag(resp)
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		resp = resp[n:]
		if num == 2 && typ == protowire.BytesType {
			token, _ := protowire.ConsumeString(resp)
			return token
		}
		if n = protowire.ConsumeFieldValue(num, typ, resp); n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		resp = resp[n:]
	}
	t.Fatal("no token in the AuthenticateResponse")
	return ""
}
