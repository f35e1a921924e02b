package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/etcdkit/etcdkit/etcd/etcdtest"
)

// Passwords of the test's users, distinctive enough to be found in any output.
const (
	rootPassword  = "root-pw-91xq"
	appPassword   = "app-pw-7f3k"
	wrongPassword = "wrong-pw-x8z"
)

// startSecured starts size members that require client certificates, with the users root and
// app (who may read and write under app/), the key app/k, and auth on; it returns the pair
// and the certificate flags.
func startSecured(t *testing.T, size int) (*pair, []string) {
	t.Helper()
	p := newPair(t, etcdtest.Options{Size: size, ClientCertAuth: true})
	f := p.cl.TLS
	certs := []string{"--cacert", f.CAFile, "--cert", f.ClientCertFile, "--key", f.ClientKeyFile}
	for _, step := range [][]string{
		{"user", "add", "root:" + rootPassword},
		{"user", "grant-role", "root", "root"},
		{"user", "add", "app:" + appPassword},
		{"role", "add", "app"},
		{"role", "grant-permission", "app", "readwrite", "app/", "--prefix"},
		{"user", "grant-role", "app", "app"},
		{"auth", "enable"},
	} {
		p.must(append(slices.Clone(certs), step...)...)
	}
	p.must(append(slices.Clone(certs), "--user", "root:"+rootPassword, "put", "app/k", "v")...)
	return p, certs
}

// TestCompareTLSAndAuth runs both programs against a member that requires client
// certificates (given as --cacert, --cert and --key) and has auth on, with the password in
// --user, in --password and in ETCDCTL_PASSWORD, right and wrong. etcdkit must never print a
// password, in its output or its errors.
func TestCompareTLSAndAuth(t *testing.T) {
	p, certs := startSecured(t, 1)
	f := p.cl.TLS

	with := func(args ...string) []string { return append(slices.Clone(certs), args...) }
	took := regexp.MustCompile(`took = \S+`)
	cases := []struct {
		readCase
		env []string
	}{
		{readCase: readCase{name: "user:password", args: with("--user", "app:"+appPassword, "get", "app/k")}},
		{readCase: readCase{name: "password flag", args: with("--user", "app", "--password", appPassword, "get", "app/k", "-w", "json"),
			norm: drop("member_id", "raft_term")}},
		{readCase: readCase{name: "password from env", args: with("--user", "app", "get", "app/k")},
			env: []string{"ETCDCTL_PASSWORD=" + appPassword}},
		{readCase: readCase{name: "user and password from env", args: with("get", "app/k")},
			env: []string{"ETCDCTL_USER=app", "ETCDCTL_PASSWORD=" + appPassword}},
		{readCase: readCase{name: "put", args: with("--user", "app:"+appPassword, "put", "app/k", "v")}},
		{readCase: readCase{name: "permission denied", fails: 1, errWant: "etcdserver: permission denied", args: with("--user", "app:"+appPassword, "get", "other/k")}},
		{readCase: readCase{name: "wrong password", fails: 2, errWant: "etcdserver: authentication failed, invalid user ID or password", args: with("--user", "app:"+wrongPassword, "get", "app/k")}},
		{readCase: readCase{name: "wrong password flag", fails: 2, errWant: "etcdserver: authentication failed, invalid user ID or password", args: with("--user", "app", "--password", wrongPassword, "get", "app/k")}},
		{readCase: readCase{name: "wrong password from env", fails: 2, errWant: "etcdserver: authentication failed, invalid user ID or password", args: with("--user", "app", "get", "app/k")},
			env: []string{"ETCDCTL_PASSWORD=" + wrongPassword}},
		{readCase: readCase{name: "unknown user", fails: 2, errWant: "etcdserver: authentication failed, invalid user ID or password", args: with("--user", "nobody:"+wrongPassword, "get", "app/k")}},
		{readCase: readCase{name: "lock", args: with("--user", "app:"+appPassword, "lock", "app/lock", "--", "echo", "locked")}},
		{readCase: readCase{name: "lease grant", args: with("--user", "app:"+appPassword, "lease", "grant", "100"), mask: maskLeases}},
		// app may not list alarms: both programs then call the endpoint unhealthy.
		{readCase: readCase{name: "endpoint health", args: with("--user", "app:"+appPassword, "endpoint", "health"),
			mask: func(s string) string { return took.ReplaceAllString(s, "took = X") }}},
		{readCase: readCase{name: "endpoint health root", args: with("--user", "root:"+rootPassword, "endpoint", "health"),
			mask: func(s string) string { return took.ReplaceAllString(s, "took = X") }}},
	}
	for _, tc := range cases {
		p.env = tc.env
		p.compareRead(tc.readCase)
		r := p.kitRun("", tc.args...)
		for _, pw := range []string{rootPassword, appPassword, wrongPassword} {
			if strings.Contains(r.stdout+r.stderr, pw) {
				t.Errorf("%s: etcdkit printed a password:\nstdout: %s\nstderr: %s", tc.name, r.stdout, r.stderr)
			}
		}
	}
	p.env = nil

	t.Run("no client certificate", func(t *testing.T) {
		r := p.kitRun("", "--cacert", f.CAFile, "--user", "app:"+appPassword, "--command-timeout=2s", "get", "app/k")
		if r.code == 0 || r.stdout != "" {
			t.Errorf("without a client certificate: exit %d, stdout %q", r.code, r.stdout)
		}
	})
}
