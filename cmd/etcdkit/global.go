package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/etcdkit/etcdkit/etcd"
	"github.com/etcdkit/etcdkit/etcd/etcdtls"
)

// globals are etcdctl's global flags that etcdkit supports.
type globals struct {
	endpoints        []string
	dialTimeout      time.Duration
	commandTimeout   time.Duration
	keepAliveTime    time.Duration
	keepAliveTimeout time.Duration
	user, password   string
	jwtToken         string
	cacert           string
	cert, key        string
	skipVerify       bool
	insecure         bool
	writeOut         string
	hex              bool
	debug            bool
	maxRecv          int64
	maxSend          int64
}

// Defaults, as etcdctl's.
const (
	defaultEndpoint       = "127.0.0.1:2379"
	defaultDialTimeout    = 2 * time.Second
	defaultCommandTimeout = 5 * time.Second
)

func (g *globals) define(fs *pflag.FlagSet) {
	fs.StringSliceVar(&g.endpoints, "endpoints", []string{defaultEndpoint}, "gRPC endpoints")
	fs.DurationVar(&g.dialTimeout, "dial-timeout", defaultDialTimeout, "dial timeout for client connections")
	fs.DurationVar(&g.commandTimeout, "command-timeout", defaultCommandTimeout, "timeout for short running command (excluding dial timeout)")
	fs.DurationVar(&g.keepAliveTime, "keepalive-time", 0, "keepalive time for client connections (at least 5s; 0: 10s)")
	fs.DurationVar(&g.keepAliveTimeout, "keepalive-timeout", 0, "keepalive timeout for client connections (0: 5s)")
	fs.StringVar(&g.user, "user", "", "username[:password] for authentication (prompt if password is not supplied)")
	fs.StringVar(&g.password, "password", "", "password for authentication (if this option is used, --user option shouldn't include password)")
	fs.StringVar(&g.jwtToken, "auth-jwt-token", "", "JWT token used for authentication (if this option is used, --user and --password should not be set)")
	fs.StringVar(&g.cacert, "cacert", "", "verify certificates of TLS-enabled secure servers using this CA bundle")
	fs.StringVar(&g.cert, "cert", "", "identify secure client using this TLS certificate file")
	fs.StringVar(&g.key, "key", "", "identify secure client using this TLS key file")
	fs.BoolVar(&g.skipVerify, "insecure-skip-tls-verify", false, "skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)")
	fs.BoolVar(&g.insecure, "insecure-transport", true, "disable transport security for client connections")
	fs.StringVarP(&g.writeOut, "write-out", "w", "simple", "set the output format (fields, json, protobuf, simple, table)")
	fs.BoolVar(&g.hex, "hex", false, "print byte strings as hex encoded strings")
	fs.BoolVar(&g.debug, "debug", false, "enable client-side debug logging (accepted, ignored)")
	fs.Int64Var(&g.maxRecv, "max-recv-bytes", 0, "client-side response receive limit in bytes (0: 4 MiB)")
	fs.Int64Var(&g.maxSend, "max-request-bytes", 0, "client-side request send limit in bytes (accepted, ignored)")
}

// fromEnv sets every global flag of fs not given on the command line from its ETCDCTL_
// variable (ETCDCTL_ENDPOINTS, ETCDCTL_USER, ETCDCTL_CACERT, ...), as etcdctl does.
func fromEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		env := "ETCDCTL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(env)
		if f.Changed || v == "" || err != nil {
			return
		}
		if serr := f.Value.Set(v); serr != nil {
			err = fail(exitBadArgs, "invalid value %q for %s: %v", redact(f.Name, v), env, serr)
		}
	})
	return err
}

// redact hides the values of the flags that carry secrets.
func redact(name, v string) string {
	switch name {
	case "password", "auth-jwt-token":
		return "***"
	case "user":
		if u, _, ok := strings.Cut(v, ":"); ok {
			return u + ":***"
		}
	}
	return v
}

// check validates the global flags for a command that prints formats besides simple and
// json. etcdctl runs a command before it finds it cannot print its answer in a format;
// etcdkit refuses before it calls.
func (g *globals) check(formats string) error {
	switch g.writeOut {
	case "simple", "json":
	case "fields", "protobuf", "table":
		if !slices.Contains(strings.Fields(formats), g.writeOut) {
			return unsupportedFormat(g.writeOut)
		}
	default:
		return fail(exitBadFeature, "unsupported output format")
	}
	return nil
}

// unsupportedFormat is etcdctl's error for a format a command cannot print.
func unsupportedFormat(format string) error {
	return fail(exitBadFeature, "%s not supported as output format", format)
}

func (a *app) json() bool { return a.g.writeOut == "json" }

// commandCtx bounds a short command by --command-timeout.
func (a *app) commandCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(a.ctx, a.g.commandTimeout)
}

// call runs f with a client and a context bounded by --command-timeout.
func (a *app) call(f func(ctx context.Context, c *etcd.Client) error) error {
	return a.callOn(a.endpoints(), f)
}

// callOn runs f with a client of endpoints and a context bounded by --command-timeout.
func (a *app) callOn(endpoints []string, f func(ctx context.Context, c *etcd.Client) error) error {
	c, err := a.clientFor(endpoints)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := a.commandCtx()
	defer cancel()
	return f(ctx, c)
}

// client builds the client from the global flags; the caller closes it.
func (a *app) client() (*etcd.Client, error) {
	return a.clientFor(a.endpoints())
}

func (a *app) endpoints() []string {
	eps := make([]string, 0, len(a.g.endpoints))
	for _, ep := range a.g.endpoints {
		if ep = strings.TrimSpace(ep); ep != "" {
			eps = append(eps, ep)
		}
	}
	return eps
}

func (a *app) clientFor(endpoints []string) (*etcd.Client, error) {
	for name, v := range map[string]string{"cert": a.g.cert, "key": a.g.key, "cacert": a.g.cacert} {
		if v == "" && a.cmd.Flags().Changed(name) {
			return nil, fail(exitBadArgs, "empty string is passed to --%s option", name)
		}
	}
	return a.dial(endpoints, login{
		tls:  tlsFiles{a.g.cacert, a.g.cert, a.g.key, a.g.skipVerify, a.g.insecure},
		user: a.g.user, password: a.g.password, prompt: "Password: ", jwtToken: a.g.jwtToken,
	})
}

// login is how to reach and log in to one cluster: the global flags, or make-mirror's
// --dest-* flags for its destination.
type login struct {
	tls                    tlsFiles
	user, password, prompt string // --user, --password, the password prompt
	jwtToken               string
}

// dial builds a client of endpoints with the global dial, keep-alive and size flags.
func (a *app) dial(endpoints []string, l login) (*etcd.Client, error) {
	cfg := etcd.Config{
		Endpoints:        endpoints,
		DialTimeout:      a.g.dialTimeout,
		KeepAliveTime:    a.g.keepAliveTime,
		KeepAliveTimeout: a.g.keepAliveTimeout,
		MaxResponseBytes: int(a.g.maxRecv),
	}
	if cfg.KeepAliveTime != 0 && cfg.KeepAliveTime < 5*time.Second {
		cfg.KeepAliveTime = 5 * time.Second // etcd's minimum
	}
	if err := secure(&cfg, l.tls); err != nil {
		return nil, err
	}
	switch {
	case l.jwtToken != "":
		// As etcdctl: a token given wins over --user.
		cfg.DialOptions = []grpc.DialOption{grpc.WithPerRPCCredentials(jwtToken(l.jwtToken))}
	case l.user != "":
		user, password, err := a.credentials(l.user, l.password, l.prompt)
		if err != nil {
			return nil, err
		}
		cfg.Username, cfg.Password = user, password
	}
	c, err := etcd.New(cfg)
	if err != nil {
		return nil, &exitErr{code: exitBadArgs, err: err}
	}
	return c, nil
}

// tlsFiles are one cluster's transport flags.
type tlsFiles struct {
	cacert, cert, key string
	skipVerify        bool
	insecure          bool // --insecure-transport: plaintext unless files or https:// ask for TLS
}

// tlsConfig builds the TLS that f asks for, as etcdctl decides it: nil (plaintext) unless a
// file is given, TLS is asked for or an endpoint is https://; and nil whatever f asks when
// the first endpoint is http://, as etcdctl's client takes that scheme for every connection
// (the files are still loaded, so that a bad one fails as it does in etcdctl).
func tlsConfig(f tlsFiles, endpoints []string) (*tls.Config, error) {
	if f.cacert == "" && f.cert == "" && f.key == "" && !f.skipVerify && f.insecure && !anyHTTPS(endpoints) {
		return nil, nil
	}
	tc, err := etcdtls.Load(f.cacert, f.cert, f.key)
	if err != nil {
		return nil, &exitErr{code: exitBadArgs, err: err}
	}
	if len(endpoints) > 0 && strings.HasPrefix(endpoints[0], "http://") {
		return nil, nil
	}
	tc.InsecureSkipVerify = f.skipVerify
	return tc, nil
}

// secure sets cfg.TLS from f (see tlsConfig); with TLS on, the endpoints lose any http://
// scheme.
func secure(cfg *etcd.Config, f tlsFiles) error {
	tc, err := tlsConfig(f, cfg.Endpoints)
	if err != nil || tc == nil {
		return err
	}
	cfg.TLS = etcdtls.New(tc)
	for i, ep := range cfg.Endpoints {
		cfg.Endpoints[i] = strings.TrimPrefix(ep, "http://")
	}
	return nil
}

// jwtToken sends a token the user already holds (--auth-jwt-token) with every call and
// stream, as etcd's "token" metadata; the server checks it.
type jwtToken string

func (t jwtToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"token": string(t)}, nil
}

func (jwtToken) RequireTransportSecurity() bool { return false }

func anyHTTPS(eps []string) bool {
	for _, ep := range eps {
		if strings.HasPrefix(ep, "https://") {
			return true
		}
	}
	return false
}

// credentials splits a --user name[:password], taking the password from the password flag,
// the user flag, or a prompt, in that order. The password never appears in errors.
func (a *app) credentials(user, password, prompt string) (string, string, error) {
	if password != "" {
		return user, password, nil
	}
	if name, pw, ok := strings.Cut(user, ":"); ok {
		return name, pw, nil
	}
	ask := a.lookupPassword
	if ask == nil {
		ask = askPassword
	}
	pw, err := ask(prompt)
	if err != nil {
		return "", "", fail(exitError, "reading the password: %v", err)
	}
	return user, pw, nil
}

// askPassword reads a password from the terminal without echo after prompt, or a line from
// standard input when it is not a terminal.
func askPassword(prompt string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if line == "" && err != nil {
			return "", errors.New("no terminal and no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	defer tty.Close()
	fmt.Fprint(tty, prompt)
	stty := func(arg string) {
		cmd := exec.Command("stty", arg)
		cmd.Stdin = tty
		_ = cmd.Run()
	}
	stty("-echo")
	defer stty("echo")
	line, err := bufio.NewReader(tty).ReadString('\n')
	fmt.Fprintln(tty)
	if line == "" && err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
